"""Start-up ensures every declared index, and drops the ones earlier versions of
Plaudit created and replaced, but never an index an operator added by hand."""

from __future__ import annotations

import asyncio
from typing import Any

from app.store.client import make_client
from app.store.indexes import INDEXES, SUPERSEDED, ensure_indexes


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
