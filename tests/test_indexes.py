"""Start-up ensures every declared index, and drops the ones earlier versions of
Plaudit created and replaced, but never an index an operator added by hand."""

from __future__ import annotations

import asyncio
from typing import Any

from app.store.client import make_client
from app.store.indexes import INDEXES, RETIRED, SUPERSEDED, ensure_indexes


async def test_superseded_indexes_are_dropped_and_others_kept(
    mongo_uri: str, db_name: str, sync_db: Any
) -> None:
    sync_db["feedback"].create_index(
        [("project_id", 1), ("run_id", 1), ("key", 1)], name="project_id_1_run_id_1_key_1"
    )
    sync_db["feedback"].create_index([("source_run_id", 1)], name="operator_added")
    client = make_client(mongo_uri)
    try:
        # Two processes starting at once: both try to drop it; neither fails.
        db = client[db_name]
        await asyncio.gather(ensure_indexes(db), ensure_indexes(db))
    finally:
        await client.close()
    names = set(sync_db["feedback"].index_information())
    assert not names & {name for collection, name in SUPERSEDED if collection == "feedback"}
    assert "operator_added" in names
    present = [
        [(field, int(order)) for field, order in info["key"]]
        for info in sync_db["feedback"].index_information().values()
    ]
    assert all(i.keys in present for i in INDEXES if i.collection == "feedback")


async def test_retired_collections_are_dropped(mongo_uri: str, db_name: str, sync_db: Any) -> None:
    """Derived data an earlier version kept in another layout (grouped rollups, a
    document per value) goes at start-up, with two processes starting at once."""
    sync_db["feedback_group_rollups"].insert_one({"project_id": "p", "gv": "someone"})
    sync_db["feedback_rollups"].insert_one({"project_id": "p"})
    client = make_client(mongo_uri)
    try:
        db = client[db_name]
        await asyncio.gather(ensure_indexes(db), ensure_indexes(db))
    finally:
        await client.close()
    names = set(sync_db.list_collection_names())
    assert "feedback_group_rollups" not in names and "feedback_group_rollups" in RETIRED
    assert "feedback_rollups" in names and "feedback_group_buckets" in names
