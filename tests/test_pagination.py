"""Keyset pagination (app/store/pagination.py) against the real store: every page
exact with records sharing a time, inside a time window, both directions; and every
page after the first reads through an index (its cursor condition written as one
``$or`` made the embedded store scan the collection and sort it in memory)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from app.store.client import make_client
from app.store.indexes import Index, ensure_indexes
from app.store.pagination import fetch_page
from app.store.ranges import time_range
from tests.commands import CommandRecorder
from tests.test_index_use import explain_scans

Collection = Any
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def collection(
    mongo_uri: str, db_name: str, recorder: CommandRecorder
) -> AsyncIterator[Collection]:
    client: AsyncMongoClient[dict[str, Any]] = make_client(mongo_uri, event_listeners=[recorder])
    db = client[db_name]
    await ensure_indexes(db, [Index("paged", [("project_id", 1), ("created_at", -1), ("_id", -1)])])
    # 40 records over 8 distinct times (five share each), and another project's.
    docs = [
        {
            "_id": f"r-{n:02d}-{uuid.uuid4().hex[:4]}",
            "project_id": "p",
            "created_at": T0 + timedelta(minutes=n % 8),
        }
        for n in range(40)
    ]
    docs += [{"_id": f"o-{n}", "project_id": "other", "created_at": T0} for n in range(10)]
    await db["paged"].insert_many(docs)
    yield db["paged"]
    await client.drop_database(db_name)
    await client.close()


async def walk(
    collection: Collection, query: dict[str, Any], size: int, *, oldest_first: bool = False
) -> list[str]:
    seen: list[str] = []
    after: str | None = None
    while True:
        page = await fetch_page(
            collection,
            query,
            first=size,
            after=after,
            time_field="created_at",
            build=lambda doc: str(doc["_id"]),
            oldest_first=oldest_first,
        )
        seen += page.items
        if not page.has_next_page:
            return seen
        assert len(page.items) == size
        after = page.end_cursor


async def expected(collection: Collection, query: dict[str, Any], oldest_first: bool) -> list[str]:
    docs = await collection.find(query).to_list()
    docs.sort(key=lambda d: (d["created_at"], d["_id"]), reverse=not oldest_first)
    return [d["_id"] for d in docs]


@pytest.mark.parametrize("oldest_first", [False, True])
@pytest.mark.parametrize("size", [1, 3, 5, 7])
async def test_every_page_is_exact_with_ties_and_windows(
    collection: Collection, size: int, oldest_first: bool
) -> None:
    for query in (
        {"project_id": "p"},
        # A window (exclusive bounds, as app/store/ranges.py writes them) whose
        # edges fall on shared times.
        {
            "project_id": "p",
            "created_at": time_range(T0 + timedelta(minutes=2), T0 + timedelta(minutes=6)),
        },
        {"project_id": "p", "created_at": time_range(T0 + timedelta(minutes=7))},
        # A condition on _id: the cursor is then one $or (the fallback), still exact.
        {"project_id": "p", "_id": {"$gt": "r-10"}},
    ):
        walked = await walk(collection, query, size, oldest_first=oldest_first)
        assert walked == await expected(collection, query, oldest_first)
        assert len(walked) == len(set(walked))


async def test_later_pages_read_through_an_index(
    collection: Collection, recorder: CommandRecorder, sync_db: Any
) -> None:
    recorder.clear()
    window = time_range(T0 + timedelta(minutes=1), T0 + timedelta(minutes=7))
    for query in ({"project_id": "p"}, {"project_id": "p", "created_at": window}):
        assert len(await walk(collection, query, 4)) > 8
    finds = recorder.on("paged", "find")
    assert len(finds) > 10
    assert explain_scans(sync_db, finds) == []
