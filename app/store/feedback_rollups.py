"""Feedback rollups: per project, key and hour (and day), the sums that statistics
are computed from, kept up to date by ``$inc`` on every write.

One document per (project, key, grain, bucket start), grain ``hour`` or ``day``,
and beside it one with the histogram, grain ``hour_hist`` or ``day_hist``: a
series that does not show percentiles never reads histograms. Short field names,
since a 90-day series reads a document per day:

    c   live records          n   with a score       cm  with a comment
    s   sum of scores         q   sum of squares     mn/mx  min and max score
    hi/lo  scores above/below the key's threshold (see app/domain/analytics/rules.py)
    bt/bf  boolean scores true/false
    h   (in the _hist document) histogram: bin key -> count (app/store/score_bins.py)
    r   thresholds hi/lo were counted against (more than one: read from h instead)
    v   version, +1 on every change (guards recounts of min/max)
    dirty  a score was removed since min/max were last exact
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from app.store.bulk_upserts import (
    BulkUpsertError,
    bulk_upsert,
    delete_unstamped,
    find_buckets,
    write_batched,
)
from app.store.score_sums import SUMMED, ScoreSums, sums_from_doc

GRAINS = ("hour", "day")
HIST = "_hist"


class RollupWriteError(Exception):
    """Some rollup updates were not written: ``failed`` maps each rollup to the part
    of its delta that was lost ("stats" or "hist")."""

    def __init__(self, failed: dict[Any, set[str]]) -> None:
        super().__init__(f"{len(failed)} rollup updates failed")
        self.failed = failed


@dataclass(frozen=True)
class RollupId:
    project_id: str
    key: str
    grain: str  # hour | day
    start: datetime

    def filter(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "key": self.key, "g": self.grain, "t": self.start}

    def hist_filter(self) -> dict[str, Any]:
        return _hist_id(self).filter()


@dataclass
class RollupDelta:
    """A change to one rollup. ``add_min``/``add_max`` are the extremes of scores
    added; a removed score cannot lower a max, so it marks the rollup ``dirty``."""

    count: int = 0
    scored: int = 0
    commented: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    above: int = 0
    below: int = 0
    bool_true: int = 0
    bool_false: int = 0
    hist: Counter[str] = field(default_factory=Counter)
    add_min: float | None = None
    add_max: float | None = None
    dirty: bool = False
    rules: set[str] = field(default_factory=set)

    def merge(self, other: RollupDelta) -> None:
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.hist.update(other.hist)
        if other.add_min is not None:
            self.add_min = (
                other.add_min if self.add_min is None else min(self.add_min, other.add_min)
            )
        if other.add_max is not None:
            self.add_max = (
                other.add_max if self.add_max is None else max(self.add_max, other.add_max)
            )
        self.dirty = self.dirty or other.dirty
        self.rules |= other.rules

    def counters(self) -> dict[str, int | float]:
        """Every summed field by its short name (zeros too)."""
        return {short: getattr(self, name) for name, short in SUMMED.items()}

    def hist_counters(self) -> dict[str, int]:
        return {f"h.{k}": n for k, n in self.hist.items() if n}

    def part(self, which: str) -> RollupDelta:
        """Only the statistics ("stats") or only the histogram ("hist")."""
        if which == "hist":
            return RollupDelta(hist=Counter(self.hist))
        copy = RollupDelta()
        copy.merge(self)
        copy.hist = Counter()
        return copy

    def is_noop(self) -> bool:
        return (
            not any(self.counters().values())
            and not self.hist_counters()
            and self.add_min is None
            and not self.dirty
            and not self.rules
        )


@dataclass(frozen=True, kw_only=True)
class Rollup(ScoreSums):
    id: RollupId
    hist: dict[str, int]
    rules: list[str]
    version: int
    dirty: bool

    @classmethod
    def from_doc(cls, doc: dict[str, Any], hist: dict[str, int] | None = None) -> Rollup:
        return cls(
            id=RollupId(doc["project_id"], doc["key"], doc["g"], doc["t"]),
            **sums_from_doc(doc),
            hist={k: n for k, n in (hist or {}).items() if n},
            rules=doc.get("r") or [],
            version=doc.get("v", 0),
            dirty=doc.get("dirty", False),
        )


def _update(delta: RollupDelta) -> dict[str, Any]:
    counters = {k: v for k, v in delta.counters().items() if v}
    update: dict[str, Any] = {"$inc": {**counters, "v": 1}}
    if delta.add_min is not None:
        update["$min"] = {"mn": delta.add_min}
        update["$max"] = {"mx": delta.add_max}
    if delta.dirty:
        update["$set"] = {"dirty": True}
    if delta.rules:
        update["$addToSet"] = {"r": {"$each": sorted(delta.rules)}}
    return update


BINARY_BINS = frozenset({"x0", "x100"})  # the histogram bins of 0 and 1 (score_bins)


def binary_hist(hist: Mapping[str, int] | None) -> bool:
    return all(n <= 0 or b in BINARY_BINS for b, n in (hist or {}).items())


def _hist_id(rid: RollupId) -> RollupId:
    return RollupId(rid.project_id, rid.key, rid.grain + HIST, rid.start)


class Bucket(Protocol):
    """What a rollup document is found by: its filter, and its histogram's."""

    def filter(self) -> dict[str, Any]: ...

    def hist_filter(self) -> dict[str, Any]: ...


B = TypeVar("B", bound=Bucket)


async def apply_deltas(
    collection: AsyncCollection[dict[str, Any]],
    deltas: Mapping[B, RollupDelta],
    *,
    inline_hist: bool = False,
) -> None:
    """One bulk write of ``$inc`` upserts. Two processes creating the same new
    rollup at once: the loser of the unique index race is retried as an update.
    Raises :class:`RollupWriteError` naming the rollups not written.
    ``inline_hist``: the histogram is in the rollup document (``h``), not beside it."""
    ops: list[tuple[B, str, UpdateOne]] = []
    for rid, delta in deltas.items():
        if delta.is_noop():
            continue
        update = _update(delta)
        hist = delta.hist_counters()
        if inline_hist:
            update["$inc"].update(hist)
            ops.append((rid, "stats", UpdateOne(rid.filter(), update, upsert=True)))
            continue
        ops.append((rid, "stats", UpdateOne(rid.filter(), update, upsert=True)))
        if hist:
            ops.append((rid, "hist", UpdateOne(rid.hist_filter(), {"$inc": hist}, upsert=True)))
    try:
        await bulk_upsert(collection, [op for _, _, op in ops])
    except BulkUpsertError as exc:
        lost: dict[Any, set[str]] = {}
        for index in exc.failed:
            rid, part, _ = ops[index]
            lost.setdefault(rid, set()).add(part)
        raise RollupWriteError(lost) from exc


def replace_ops(
    rid: Bucket, d: RollupDelta, stamp: str, *, inline_hist: bool = False
) -> list[UpdateOne]:
    """A rebuild's upserts for one rollup (and its histogram): set it to ``d``
    exactly, stamped."""
    doc: dict[str, Any] = {**d.counters(), "r": sorted(d.rules), "dirty": False, "rb": stamp}
    update: dict[str, Any] = {"$set": doc, "$inc": {"v": 1}}
    if d.add_min is None:
        update["$unset"] = {"mn": "", "mx": ""}
    else:
        doc.update({"mn": d.add_min, "mx": d.add_max})
    hist = {"h": {k: n for k, n in d.hist.items() if n}, "rb": stamp}
    if inline_hist:
        doc["h"] = hist["h"]
        return [UpdateOne(rid.filter(), update, upsert=True)]
    return [
        UpdateOne(rid.filter(), update, upsert=True),
        UpdateOne(rid.hist_filter(), {"$set": hist}, upsert=True),
    ]


async def write_replacements(
    collection: AsyncCollection[dict[str, Any]],
    values: Mapping[B, RollupDelta],
    stamp: str,
    *,
    inline_hist: bool = False,
) -> None:
    """A rebuild's upserts, a thousand per bulk write."""
    ops = (
        op
        for rid, d in values.items()
        for op in replace_ops(rid, d, stamp, inline_hist=inline_hist)
    )
    await write_batched(collection, ops)


def save_extremes_update(min_score: float | None, max_score: float | None) -> dict[str, Any]:
    update: dict[str, Any] = {"$set": {"dirty": False}}
    if min_score is None:
        update["$unset"] = {"mn": "", "mx": ""}
    else:
        update["$set"].update({"mn": min_score, "mx": max_score})
    return update


class FeedbackRollupStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["feedback_rollups"]

    async def apply(self, deltas: dict[RollupId, RollupDelta]) -> None:
        """One bulk write of ``$inc`` upserts (see :func:`apply_deltas`)."""
        await apply_deltas(self.collection, deltas)

    async def _find(
        self,
        project_id: str,
        keys: list[str] | None,
        grain: str,
        since: datetime | None,
        until: datetime | None,
    ) -> list[dict[str, Any]]:
        return await find_buckets(self.collection, project_id, keys, grain, since, until)

    async def fetch(
        self,
        project_id: str,
        keys: list[str] | None,
        grain: str,
        since: datetime | None,
        until: datetime | None,
        *,
        with_hist: bool,
    ) -> list[Rollup]:
        """The rollups of ``grain`` starting in ``[since, until)``; with their
        histograms when ``with_hist``."""
        docs = await self._find(project_id, keys, grain, since, until)
        hists: dict[tuple[str, datetime], dict[str, int]] = {}
        if with_hist:
            for doc in await self._find(project_id, keys, grain + HIST, since, until):
                hists[(doc["key"], doc["t"])] = doc.get("h") or {}
        return [Rollup.from_doc(d, hists.get((d["key"], d["t"]))) for d in docs]

    async def binary_keys(
        self, project_id: str, keys: list[str] | None, *, skip: Collection[str] = ()
    ) -> dict[str, bool]:
        """Per key: whether every live score it has is 0 or 1 (true and false count
        as 1 and 0), read from its day histograms: they count nothing outside the
        bins ``x0`` and ``x100``. A key with no scores reads True. With ``keys``
        None: every key that has day rollups, except those in ``skip``.

        Histogram counts are exact (a removed score is decremented), so a key that
        once had a 0.5 reads boolean again once that score is gone."""
        if keys is None:
            # From the day documents (small), not their histograms.
            seen = await self.collection.distinct("key", {"project_id": project_id, "g": "day"})
            keys = sorted(k for k in seen if k not in skip)
        found = await asyncio.gather(*(self._binary_key(project_id, k) for k in keys))
        return dict(zip(keys, found, strict=True))

    async def _binary_key(self, project_id: str, key: str) -> bool:
        cursor = self.collection.find(
            {"project_id": project_id, "key": key, "g": "day" + HIST},
            {"h": 1},
            sort=[("t", -1)],  # recent days first: where a new kind of score shows
            batch_size=100,
        )
        async for doc in cursor:
            if not binary_hist(doc.get("h")):
                await cursor.close()
                return False
        return True

    async def save_extremes(
        self, rollup: Rollup, min_score: float | None, max_score: float | None
    ) -> bool:
        """Store recounted min and max and clear ``dirty``, unless the rollup changed
        since it was read (its version moved). Safe against concurrent flushes:
        ``$min``/``$max`` of a score already counted here change nothing, and a
        removal flushed meanwhile sets ``dirty`` again."""
        result = await self.collection.update_one(
            {**rollup.id.filter(), "v": rollup.version},
            save_extremes_update(min_score, max_score),
        )
        return result.modified_count == 1

    async def replace_scope(
        self,
        project_id: str,
        key: str | None,
        values: dict[RollupId, RollupDelta],
        *,
        stamp: str,
        keep_from: datetime,
        keep_before: datetime | None = None,
    ) -> int:
        """Rebuild: set every rollup of the project (or key) to ``values`` exactly,
        and delete older ones that no longer have any feedback (buckets from
        ``keep_from`` on are left alone: live writes may be creating them; so are
        buckets before ``keep_before``: their raw feedback has expired)."""
        await write_replacements(self.collection, values, stamp)
        await delete_unstamped(
            self.collection, project_id, key, stamp, keep_from=keep_from, keep_before=keep_before
        )
        return len(values)
