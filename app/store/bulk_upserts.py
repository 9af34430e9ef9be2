"""Reads and writes shared by the aggregate collections (rollups, grouped rollups,
run tallies): the documents of some keys and a grain in a window; one unordered
bulk write of upserts, with the unique-index race handled (two processes creating
the same new document at once: the loser is retried as an update), and a
rebuild's stamped replacement of a project's documents."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from app.store.ranges import time_range

DUPLICATE_KEY = 11000


class BulkUpsertError(Exception):
    """Some upserts were not written: ``failed`` holds their indexes in the list."""

    def __init__(self, failed: list[int]) -> None:
        super().__init__(f"{len(failed)} upserts failed")
        self.failed = failed


async def find_buckets(
    collection: AsyncCollection[dict[str, Any]],
    project_id: str,
    keys: list[str] | None,
    grain: str,
    since: datetime | None,
    until: datetime | None,
    *,
    where: dict[str, Any] | None = None,
    projection: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The documents of ``grain`` (``g``) starting (``t``) in ``[since, until)``,
    for ``keys`` (None: every key) and the equalities in ``where`` (a grouping)."""
    if keys is not None and len(keys) > 1:
        # One query per key: each uses the (project_id, key, ..., g, t) index on every store.
        found = await asyncio.gather(
            *(
                find_buckets(
                    collection,
                    project_id,
                    [k],
                    grain,
                    since,
                    until,
                    where=where,
                    projection=projection,
                )
                for k in keys
            )
        )
        return [doc for docs in found for doc in docs]
    query: dict[str, Any] = {"project_id": project_id}
    if keys is not None:
        query["key"] = keys[0]
    query.update(where or {})
    query["g"] = grain
    span = time_range(since, until)
    if span:
        query["t"] = span
    return await collection.find(query, projection).to_list()


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


async def write_batched(
    collection: AsyncCollection[dict[str, Any]], ops: Iterable[UpdateOne], batch: int = 1000
) -> None:
    """A rebuild's upserts, ``batch`` per unordered bulk write."""
    pending: list[UpdateOne] = []
    for op in ops:
        pending.append(op)
        if len(pending) >= batch:
            await collection.bulk_write(pending, ordered=False)
            pending = []
    if pending:
        await collection.bulk_write(pending, ordered=False)


async def delete_unstamped(
    collection: AsyncCollection[dict[str, Any]],
    project_id: str,
    key: str | None,
    stamp: str,
    *,
    keep_from: datetime,
    keep_before: datetime | None = None,
) -> None:
    """After a rebuild: delete the project's (or key's) documents it did not write
    (stamp ``rb``), except buckets from ``keep_from`` on (live writes may be
    creating them) and before ``keep_before`` (their raw feedback has expired)."""
    scope: dict[str, Any] = {
        "project_id": project_id,
        "rb": {"$ne": stamp},
        "t": time_range(keep_before, keep_from),
    }
    if key is not None:
        scope["key"] = key
    await collection.delete_many(scope)


async def replace_stamped(
    collection: AsyncCollection[dict[str, Any]],
    ops: Iterable[UpdateOne],
    *,
    project_id: str,
    key: str | None,
    stamp: str,
    keep_from: datetime,
    keep_before: datetime | None,
    batch: int = 1000,
) -> None:
    """A rebuild's writes: ``ops`` (each setting ``rb`` to ``stamp``) in batches, then
    the documents no op touched deleted (see :func:`delete_unstamped`)."""
    await write_batched(collection, ops, batch)
    await delete_unstamped(
        collection, project_id, key, stamp, keep_from=keep_from, keep_before=keep_before
    )
