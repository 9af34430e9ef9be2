"""Per-run day tallies for worst runs over long windows: one document per project,
key and run, with the run's scores per day and over its lifetime, kept up to date
from the same day deltas as the run tallies (app/store/run_tallies.py), in one
more bulk write per flush.

The lifetime numbers are indexed (one index per side, since the direction is
applied when reading), so a long window reads the runs with the most high (or
low) scores first, a count at a time, instead of reading every run with feedback
in it (app/domain/analytics/run_day_reads.py). A run's count in a window never
exceeds its lifetime count: that is what bounds the reading. Short field names:

    hi/lo/n   lifetime scores above/below the key's threshold, all scores
    last      the newest scored record's created_at (never lowered by a removal)
    d.<YYYYMMDD>   that day's hi/lo/n and ``at`` (its newest created_at)
    v  version, +1 on every change;  dirty  a score was removed since every
    ``at`` was last exact;  rb  stamp of the rebuild that last set the document

One more document per project and key (``run_id`` ""): ``r``, every threshold the
key's documents were counted against, and ``complete``: every live score of the
key is counted (its first write found no run tallies of the key, or a rebuild
wrote them). Reads use this structure only for complete keys whose documents were
counted against the key's current threshold alone; otherwise the run tallies,
which recount. Keys with feedback from before this structure existed become
complete with ``plaudit rollups rebuild``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from app.store.bulk_upserts import BulkUpsertError, bulk_upsert, write_batched
from app.store.run_tallies import RunCount, RunRow, TallyDelta, TallyId

COLLECTION = "run_days"
THRESHOLDS = ""  # the run_id of a key's document of thresholds


class RunDayWriteError(Exception):
    """Some run day updates were not written: ``failed`` names them."""

    def __init__(self, failed: list[RunDayId]) -> None:
        super().__init__(f"{len(failed)} run day updates failed")
        self.failed = failed


@dataclass(frozen=True)
class RunDayId:
    project_id: str
    key: str
    run_id: str

    def filter(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "key": self.key, "run_id": self.run_id}


def day_field(day: datetime) -> str:
    return day.strftime("%Y%m%d")


def field_day(name: str) -> datetime:
    return datetime.strptime(name, "%Y%m%d").replace(tzinfo=UTC)


@dataclass
class RunDaysDelta:
    """A change to one run's document: per day, and the thresholds it was counted
    against."""

    days: dict[str, RunCount] = field(default_factory=dict)
    rules: set[str] = field(default_factory=set)

    def add(self, day: str, count: RunCount, rules: Iterable[str] = ()) -> None:
        self.days.setdefault(day, RunCount()).merge(count)
        self.rules.update(rules)

    def merge(self, other: RunDaysDelta) -> None:
        for day, count in other.days.items():
            self.add(day, count)
        self.rules |= other.rules


def from_tallies(deltas: dict[TallyId, TallyDelta]) -> dict[RunDayId, RunDaysDelta]:
    """The day tallies' changes, per run (hour tallies are left out: the same
    scores are in their days)."""
    out: dict[RunDayId, RunDaysDelta] = {}
    for tid, delta in deltas.items():
        if tid.grain != "day":
            continue
        day = day_field(tid.start)
        for run_id, count in delta.runs.items():
            rid = RunDayId(tid.project_id, tid.key, run_id)
            out.setdefault(rid, RunDaysDelta()).add(day, count, delta.rules)
    return out


@dataclass(frozen=True)
class KeyState:
    rules: list[str]  # thresholds the key's documents were counted against
    complete: bool  # a rebuild wrote them: every live score is counted


# One run's numbers on one day: (high, low, scored, newest), as a tally's.
DayRow = RunRow


@dataclass(frozen=True)
class RunDays:
    id: RunDayId
    high: int  # lifetime
    low: int
    last: datetime | None
    days: dict[str, DayRow]
    version: int
    dirty: bool


def _from_doc(doc: dict[str, Any]) -> RunDays:
    days = {
        name: (e.get("hi", 0), e.get("lo", 0), e.get("n", 0), e.get("at"))
        for name, e in (doc.get("d") or {}).items()
        if e.get("n", 0) > 0
    }
    return RunDays(
        id=RunDayId(doc["project_id"], doc["key"], doc["run_id"]),
        high=doc.get("hi", 0),
        low=doc.get("lo", 0),
        last=doc.get("last"),
        days=days,
        version=doc.get("v", 0),
        dirty=doc.get("dirty", False),
    )


def _update(delta: RunDaysDelta) -> dict[str, Any] | None:
    inc: dict[str, int] = {}
    latest: dict[str, datetime] = {}
    dirty = False
    for day, count in delta.days.items():
        for short, value in (("hi", count.high), ("lo", count.low), ("n", count.scored)):
            if value:
                inc[f"d.{day}.{short}"] = value
                inc[short] = inc.get(short, 0) + value
        if count.last is not None:
            latest[f"d.{day}.at"] = count.last
            latest["last"] = max(count.last, latest.get("last", count.last))
        dirty = dirty or count.dirty
    inc = {name: value for name, value in inc.items() if value}
    if not (inc or latest or dirty):
        return None
    update: dict[str, Any] = {"$inc": {**inc, "v": 1}}
    if latest:
        update["$max"] = latest
    if dirty:
        update["$set"] = {"dirty": True}
    return update


class RunDayStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def apply(
        self, deltas: dict[RunDayId, RunDaysDelta], fresh: Collection[tuple[str, str]] = ()
    ) -> None:
        """One bulk write of ``$inc`` upserts (and the keys' thresholds); ``fresh``:
        (project, key) pairs with no tally written before these, whose documents
        are complete from the start. Raises :class:`RunDayWriteError` naming the
        documents not written."""
        ops: list[tuple[RunDayId, UpdateOne]] = []
        rules: dict[tuple[str, str], set[str]] = {pair: set() for pair in fresh}
        for rid, delta in deltas.items():
            update = _update(delta)
            if update is not None:
                ops.append((rid, UpdateOne(rid.filter(), update, upsert=True)))
            if delta.rules:
                rules.setdefault((rid.project_id, rid.key), set()).update(delta.rules)
        for (project_id, key), tags in rules.items():
            # Written with the runs' updates, first: a read that sees a run counted
            # against a threshold sees the threshold.
            tid = RunDayId(project_id, key, THRESHOLDS)
            key_update: dict[str, Any] = {}
            if tags:
                key_update["$addToSet"] = {"r": {"$each": sorted(tags)}}
            if (project_id, key) in fresh:
                key_update["$setOnInsert"] = {"complete": True}
            ops.insert(0, (tid, UpdateOne(tid.filter(), key_update, upsert=True)))
        try:
            await bulk_upsert(self.collection, [op for _, op in ops])
        except BulkUpsertError as exc:
            raise RunDayWriteError([ops[i][0] for i in exc.failed]) from exc

    async def known(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (project, key) pairs have documents here (their thresholds')."""
        found: set[tuple[str, str]] = set()
        for project_id, key in pairs:
            doc = await self.collection.find_one(
                RunDayId(project_id, key, THRESHOLDS).filter(), {"_id": 1}
            )
            if doc is not None:
                found.add((project_id, key))
        return found

    async def states(self, project_id: str, keys: list[str]) -> dict[str, KeyState]:
        """Per key with documents: the thresholds they were counted against, and
        whether a rebuild wrote them all."""
        fields = {"key": 1, "r": 1, "complete": 1}
        found = await asyncio.gather(
            *(
                self.collection.find_one(RunDayId(project_id, key, THRESHOLDS).filter(), fields)
                for key in keys
            )
        )
        return {
            d["key"]: KeyState(list(d.get("r") or []), bool(d.get("complete")))
            for d in found
            if d is not None
        }

    async def tier(
        self, project_id: str, key: str, side: str, count: int, since: datetime | None
    ) -> list[RunDays]:
        """The key's runs with ``count`` lifetime scores on ``side`` (hi | lo) and
        feedback since ``since`` (by ``last``). Unsorted, and no other condition:
        the embedded store sorts whatever matches in memory, and scans the whole
        collection for a third condition."""
        query: dict[str, Any] = {"project_id": project_id, "key": key, side: count}
        if since is not None:
            query["last"] = {"$gte": since}
        docs = await self.collection.find(query).to_list()
        return [_from_doc(d) for d in docs]

    async def any_between(self, project_id: str, key: str, side: str, low: int, high: int) -> bool:
        """Whether a run of the key has a lifetime count on ``side`` in ``[low, high)``."""
        query = {"project_id": project_id, "key": key, side: {"$gte": low, "$lt": high}}
        return await self.collection.find_one(query, {"_id": 1}) is not None

    async def of_runs(self, project_id: str, keys: list[str], run_ids: list[str]) -> list[RunDays]:
        if not run_ids:
            return []
        # One query per key: the embedded store scans for an $in before the last field.
        found = await asyncio.gather(
            *(
                self.collection.find(
                    {"project_id": project_id, "key": key, "run_id": {"$in": run_ids}}
                ).to_list()
                for key in keys
            )
        )
        return [_from_doc(d) for docs in found for d in docs]

    async def save_times(self, found: RunDays, at: dict[str, datetime]) -> bool:
        """Store a dirty document's recounted newest times (``at``: per day with a
        live score) and clear ``dirty``, unless it changed since it was read."""
        update: dict[str, Any] = {"$set": {"dirty": False, "last": max(at.values(), default=None)}}
        unset = {f"d.{day}.at": "" for day in found.days if day not in at}
        update["$set"].update({f"d.{day}.at": when for day, when in at.items()})
        if unset:
            update["$unset"] = unset
        result = await self.collection.update_one({**found.id.filter(), "v": found.version}, update)
        return result.modified_count == 1

    async def replace_scope(
        self,
        project_id: str,
        key: str | None,
        values: dict[RunDayId, RunDaysDelta],
        *,
        keys: Iterable[str],
        stamp: str,
        started: datetime,
    ) -> None:
        """Rebuild: set every run's document of the project (or key) to ``values``
        exactly, and the thresholds of each of ``keys`` to those counted (marking
        them complete); then delete the other documents with no score since
        ``started`` (a live write since then may have created them)."""
        tags: dict[tuple[str, str], set[str]] = {(project_id, k): set() for k in keys}
        for rid, delta in values.items():
            tags.setdefault((rid.project_id, rid.key), set()).update(delta.rules)

        def ops() -> Iterator[UpdateOne]:
            for (pid, k), found in tags.items():
                tid = RunDayId(pid, k, THRESHOLDS)
                doc = {"r": sorted(found), "complete": True, "rb": stamp}
                yield UpdateOne(tid.filter(), {"$set": doc}, upsert=True)
            for rid, delta in values.items():
                days = {
                    day: {
                        "hi": c.high,
                        "lo": c.low,
                        "n": c.scored,
                        **({"at": c.last} if c.last is not None else {}),
                    }
                    for day, c in delta.days.items()
                    if c.scored
                }
                if not days:
                    continue
                times = [c.last for c in delta.days.values() if c.last is not None and c.scored]
                counts = [c for c in delta.days.values() if c.scored]
                doc = {
                    "d": days,
                    "hi": sum(c.high for c in counts),
                    "lo": sum(c.low for c in counts),
                    "n": sum(c.scored for c in counts),
                    "last": max(times),
                    "dirty": False,
                    "rb": stamp,
                }
                yield UpdateOne(rid.filter(), {"$set": doc, "$inc": {"v": 1}}, upsert=True)

        await write_batched(self.collection, ops(), batch=500)
        scope: dict[str, Any] = {
            "project_id": project_id,
            "rb": {"$ne": stamp},
            "$or": [{"last": {"$lt": started}}, {"last": None}],
        }
        if key is not None:
            scope["key"] = key
        await self.collection.delete_many(scope)
