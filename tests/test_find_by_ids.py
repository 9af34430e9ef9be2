"""Reads by many ids (app/store/queries.py find_by_ids): every document found
once, in reads of at most IDS_PER_READ ids (one ``$in`` of n ids costs n squared
on the embedded store), each by ``_id`` alone, through the ``_id`` index."""

from __future__ import annotations

from typing import Any

from app.store.client import make_client
from app.store.queries import IDS_PER_READ, find_by_ids
from tests.commands import CommandRecorder
from tests.test_index_use import explain_scans


async def test_many_ids_are_read_in_bounded_index_reads(
    mongo_uri: str, db_name: str, recorder: CommandRecorder, sync_db: Any
) -> None:
    client = make_client(mongo_uri, event_listeners=[recorder])
    try:
        collection = client[db_name]["by_ids"]
        await collection.insert_many([{"_id": f"d-{n}", "n": n} for n in range(300)])
        wanted = [f"d-{n}" for n in range(0, 300, 2)] * 2 + ["absent-1", "absent-2"]
        recorder.clear()
        found = await find_by_ids(collection, wanted, {"n": 1})
        assert sorted(d["n"] for d in found) == list(range(0, 300, 2))
        finds = recorder.on("by_ids", "find")
        sizes = [len(f["filter"]["_id"]["$in"]) for f in finds]
        assert sum(sizes) == 152 and max(sizes) <= IDS_PER_READ and len(finds) == 4
        assert all(set(f["filter"]) == {"_id"} for f in finds)
        assert explain_scans(sync_db, finds) == []
    finally:
        await client.close()
