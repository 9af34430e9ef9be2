"""Per-run tallies for worst runs: per project, key and hour (and day), every run's
scores on the high and low side of the key's threshold, kept up to date by ``$inc``
on every write (batched with the rollups, app/domain/analytics/rollup_buffer.py).

A document holds the runs of one bucket; a day's are split over ``SHARDS["day"]``
documents by a hash of the run id, so that a busy day stays far below the
document size limit (an hour's fit one). A 30-day ranking reads about 30 x 8
documents however many records those days hold; a rebuild writes one document per
key and hour with feedback, plus eight per day. Short field names:

    runs.<run id>   hi/lo  scores above/below the key's threshold
                    n      scores    at  the newest scored record's created_at
    r    thresholds hi/lo were counted against (more than one: recount from raw)
    v    version, +1 on every change (guards saving recounted times)
    dirty  a score was removed since every ``at`` was last exact
    rb   stamp of the rebuild that last set the document
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from app.store import jsonsafe
from app.store.bulk_upserts import BulkUpsertError, bulk_upsert, find_buckets, replace_stamped

GRAINS = ("hour", "day")
SHARDS = {"hour": 1, "day": 8}
COLLECTION = "run_tallies"


def shard_of(run_id: str, grain: str) -> int:
    return zlib.crc32(run_id.encode()) % SHARDS[grain]


class TallyWriteError(Exception):
    """Some tally updates were not written: ``failed`` names them."""

    def __init__(self, failed: list[TallyId]) -> None:
        super().__init__(f"{len(failed)} run tally updates failed")
        self.failed = failed


@dataclass(frozen=True)
class TallyId:
    project_id: str
    key: str
    grain: str  # hour | day
    start: datetime
    shard: int

    def filter(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "key": self.key,
            "g": self.grain,
            "t": self.start,
            "s": self.shard,
        }


@dataclass
class RunCount:
    """One run's numbers in a bucket (or a change to them). ``last`` is the newest
    scored record added; a removed score cannot lower it, so it marks ``dirty``."""

    high: int = 0
    low: int = 0
    scored: int = 0
    last: datetime | None = None
    dirty: bool = False

    def merge(self, other: RunCount) -> None:
        self.high += other.high
        self.low += other.low
        self.scored += other.scored
        if other.last is not None and (self.last is None or other.last > self.last):
            self.last = other.last
        self.dirty = self.dirty or other.dirty


@dataclass
class TallyDelta:
    """A change to one tally document: per run, and the thresholds it was counted
    against."""

    runs: dict[str, RunCount] = field(default_factory=dict)
    rules: set[str] = field(default_factory=set)

    def add(self, run_id: str, count: RunCount, rules: Iterable[str] = ()) -> None:
        self.runs.setdefault(run_id, RunCount()).merge(count)
        self.rules.update(rules)

    def merge(self, other: TallyDelta) -> None:
        for run_id, count in other.runs.items():
            self.add(run_id, count)
        self.rules |= other.rules


# A run's numbers in a stored tally: (high, low, scored, last); tuples, since a
# 30-day ranking reads a few hundred thousand of them at a million records.
RunRow = tuple[int, int, int, datetime | None]


@dataclass(frozen=True)
class Tally:
    id: TallyId
    runs: dict[str, RunRow]  # runs with at least one score
    rules: list[str]
    version: int
    dirty: bool


def _run_field(run_id: str) -> str:
    return "runs." + jsonsafe.escape_field(run_id)


def _update(delta: TallyDelta) -> dict[str, Any] | None:
    inc: dict[str, int] = {}
    latest: dict[str, datetime] = {}
    dirty = False
    for run_id, count in delta.runs.items():
        path = _run_field(run_id)
        for short, value in (("hi", count.high), ("lo", count.low), ("n", count.scored)):
            if value:
                inc[f"{path}.{short}"] = value
        if count.last is not None:
            latest[f"{path}.at"] = count.last
        dirty = dirty or count.dirty
    if not (inc or latest or dirty or delta.rules):
        return None
    update: dict[str, Any] = {"$inc": {**inc, "v": 1}}
    if latest:
        update["$max"] = latest
    if dirty:
        update["$set"] = {"dirty": True}
    if delta.rules:
        update["$addToSet"] = {"r": {"$each": sorted(delta.rules)}}
    return update


def _from_doc(doc: dict[str, Any]) -> Tally:
    unescape = jsonsafe.unescape_field
    runs = {
        unescape(name): (e.get("hi", 0), e.get("lo", 0), e["n"], e.get("at"))
        for name, e in (doc.get("runs") or {}).items()
        if e.get("n", 0) > 0
    }
    return Tally(
        id=TallyId(doc["project_id"], doc["key"], doc["g"], doc["t"], doc["s"]),
        runs=runs,
        rules=doc.get("r") or [],
        version=doc.get("v", 0),
        dirty=doc.get("dirty", False),
    )


class RunTallyStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def apply(self, deltas: dict[TallyId, TallyDelta]) -> None:
        """One bulk write of ``$inc`` upserts (app/store/bulk_upserts.py). Raises
        :class:`TallyWriteError` naming the tallies not written."""
        ops: list[tuple[TallyId, UpdateOne]] = []
        for tid, delta in deltas.items():
            update = _update(delta)
            if update is not None:
                ops.append((tid, UpdateOne(tid.filter(), update, upsert=True)))
        try:
            await bulk_upsert(self.collection, [op for _, op in ops])
        except BulkUpsertError as exc:
            raise TallyWriteError([ops[i][0] for i in exc.failed]) from exc

    async def fetch(
        self,
        project_id: str,
        keys: list[str] | None,
        grain: str,
        since: datetime | None,
        until: datetime | None,
    ) -> list[Tally]:
        """The tallies of ``grain`` starting in ``[since, until)``."""
        docs = await find_buckets(self.collection, project_id, keys, grain, since, until)
        return [_from_doc(d) for d in docs]

    async def has_key(self, project_id: str, key: str) -> bool:
        found = await self.collection.find_one({"project_id": project_id, "key": key}, {"_id": 1})
        return found is not None

    async def thresholds_counted(self, project_id: str, key: str) -> set[str]:
        """Every threshold the key's tallies were counted against."""
        found = await self.collection.distinct("r", {"project_id": project_id, "key": key})
        return {str(tag) for tag in found}

    async def save_times(self, tally: Tally, last: dict[str, datetime | None]) -> bool:
        """Store recounted newest times and clear ``dirty``, unless the document
        changed since it was read (its version moved). Safe against concurrent
        flushes: ``$max`` of a time already counted changes nothing, and a removal
        flushed meanwhile sets ``dirty`` again."""
        update: dict[str, Any] = {"$set": {"dirty": False}}
        unset: dict[str, str] = {}
        for run_id, at in last.items():
            if at is None:
                unset[f"{_run_field(run_id)}.at"] = ""
            else:
                update["$set"][f"{_run_field(run_id)}.at"] = at
        if unset:
            update["$unset"] = unset
        result = await self.collection.update_one({**tally.id.filter(), "v": tally.version}, update)
        return result.modified_count == 1

    async def replace_scope(
        self,
        project_id: str,
        key: str | None,
        values: dict[TallyId, TallyDelta],
        *,
        stamp: str,
        keep_from: datetime,
        keep_before: datetime | None = None,
    ) -> int:
        """Rebuild: set every tally of the project (or key) to ``values`` exactly, and
        delete older ones that no longer have any feedback (buckets from
        ``keep_from`` on are left alone: live writes may be creating them; so are
        buckets before ``keep_before``: their raw feedback has expired)."""

        def ops() -> Iterator[UpdateOne]:
            for tid, delta in values.items():
                runs = {
                    jsonsafe.escape_field(run_id): {
                        "hi": c.high,
                        "lo": c.low,
                        "n": c.scored,
                        **({"at": c.last} if c.last is not None else {}),
                    }
                    for run_id, c in delta.runs.items()
                    if c.scored
                }
                doc = {"runs": runs, "r": sorted(delta.rules), "dirty": False, "rb": stamp}
                yield UpdateOne(tid.filter(), {"$set": doc, "$inc": {"v": 1}}, upsert=True)

        await replace_stamped(
            self.collection,
            ops(),
            project_id=project_id,
            key=key,
            stamp=stamp,
            keep_from=keep_from,
            keep_before=keep_before,
            batch=500,
        )
        return len(values)
