"""One unordered bulk write of upserts, with the unique-index race handled.

Two processes creating the same new aggregate document at once (rollups, run
tallies): the loser of the race on the unique index is retried as an update."""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


class BulkUpsertError(Exception):
    """Some upserts were not written: ``failed`` holds their indexes in the list."""

    def __init__(self, failed: list[int]) -> None:
        super().__init__(f"{len(failed)} upserts failed")
        self.failed = failed


async def bulk_upsert(collection: AsyncCollection[dict[str, Any]], ops: list[UpdateOne]) -> None:
    if not ops:
        return
    failed: list[int] = []
    try:
        await collection.bulk_write(ops, ordered=False)
        return
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        failed += [e["index"] for e in errors if e.get("code") != DUPLICATE_KEY]
        retry = [e["index"] for e in errors if e.get("code") == DUPLICATE_KEY]
    if retry:
        try:
            await collection.bulk_write([ops[i] for i in retry], ordered=False)
        except BulkWriteError as exc:
            failed += [retry[e["index"]] for e in exc.details.get("writeErrors", [])]
    if failed:
        raise BulkUpsertError(sorted(failed))
