"""Grouped rollups: the sums of app/store/feedback_rollups.py per project, key,
hour (and day) AND one value of one grouping (user, source, model, tag, tracing
project), so statistics grouped that way read rollups, not feedback.

Documents have the rollups' fields, the histogram inside (``h``: grouped
statistics are read with percentiles, and one document per group and bucket halves
the writes), plus:

    d   the grouping: user | source | model | tag | session
    gv  the group's value (None: the record or its run has none)
    o   True for the "other" group of the bucket: records whose value arrived
        after the bucket already had its bound of values

and, per (project, key, grouping, grain, bucket), one slots document (grain
``hour_slots`` / ``day_slots``) listing the values that have a group of their own
(``vals``) and how many were ever given one (``n``, the bound is checked against
it, so an erased value's slot is not handed out again).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from app.store.bulk_upserts import delete_unstamped, find_buckets
from app.store.feedback_rollups import (
    HIST,
    Rollup,
    RollupDelta,
    RollupId,
    apply_deltas,
    save_extremes_update,
    write_replacements,
)
from app.store.ranges import MS, time_range

COLLECTION = "feedback_group_rollups"
SLOTS = "_slots"


@dataclass(frozen=True)
class GroupRollupId:
    project_id: str
    key: str
    dim: str  # user | source | model | tag | session
    grain: str  # hour | day
    start: datetime
    value: str | None
    other: bool = False

    def _filter(self, grain: str) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "key": self.key,
            "d": self.dim,
            "g": grain,
            "t": self.start,
            "gv": self.value,
            "o": self.other,
        }

    def filter(self) -> dict[str, Any]:
        return self._filter(self.grain)

    def hist_filter(self) -> dict[str, Any]:  # not used: histograms are inline
        return self._filter(self.grain + HIST)

    @property
    def slots(self) -> SlotsId:
        return SlotsId(self.project_id, self.key, self.dim, self.grain, self.start)


@dataclass(frozen=True)
class SlotsId:
    """The bucket a bound of values applies to: one key, grouping, grain and start."""

    project_id: str
    key: str
    dim: str
    grain: str
    start: datetime

    def filter(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "key": self.key,
            "d": self.dim,
            "g": self.grain + SLOTS,
            "t": self.start,
            "gv": None,
            "o": False,
        }

    def group(self, value: str | None, *, own: bool) -> GroupRollupId:
        """The value's own group in this bucket, or (``own`` False) "other"."""
        return GroupRollupId(
            self.project_id,
            self.key,
            self.dim,
            self.grain,
            self.start,
            value if own else None,
            other=not own,
        )


@dataclass(frozen=True)
class Slots:
    values: frozenset[str | None]
    given: int  # slots ever given out in this bucket


@dataclass(frozen=True)
class GroupRollup:
    id: GroupRollupId
    rollup: Rollup  # its sums (``rollup.id`` names the bucket without the group)


def _group_id(doc: dict[str, Any]) -> GroupRollupId:
    return GroupRollupId(
        doc["project_id"],
        doc["key"],
        doc["d"],
        doc["g"],
        doc["t"],
        doc.get("gv"),
        bool(doc.get("o")),
    )


class FeedbackGroupRollupStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def apply(self, deltas: dict[GroupRollupId, RollupDelta]) -> None:
        await apply_deltas(self.collection, deltas, inline_hist=True)

    async def slots(self, buckets: set[SlotsId]) -> dict[SlotsId, Slots]:
        """The slots of these buckets (absent: none given yet). One ranged read per
        project, key, grouping and grain."""
        spans: dict[tuple[str, str, str, str], list[datetime]] = {}
        for b in buckets:
            spans.setdefault((b.project_id, b.key, b.dim, b.grain), []).append(b.start)

        async def one(scope: tuple[str, str, str, str], starts: list[datetime]) -> list[Any]:
            project_id, key, dim, grain = scope
            query = {
                "project_id": project_id,
                "key": key,
                "d": dim,
                "g": grain + SLOTS,
                "t": time_range(min(starts), max(starts) + MS),
            }
            return await self.collection.find(query, {"t": 1, "vals": 1, "n": 1}).to_list()

        scopes = list(spans.items())
        found = await asyncio.gather(*(one(scope, starts) for scope, starts in scopes))
        out: dict[SlotsId, Slots] = {}
        for (scope, _), docs in zip(scopes, found, strict=True):
            for doc in docs:
                sid = SlotsId(*scope, doc["t"])
                if sid in buckets:
                    values = frozenset(doc.get("vals") or [])
                    out[sid] = Slots(values, max(doc.get("n", 0), len(values)))
        return out

    async def give_slots(self, given: dict[SlotsId, list[str | None]]) -> None:
        """Record new values' own groups (before anything is counted in them)."""
        ops = [
            UpdateOne(
                sid.filter(),
                {"$addToSet": {"vals": {"$each": values}}, "$inc": {"n": len(values)}},
                upsert=True,
            )
            for sid, values in given.items()
            if values
        ]
        if ops:
            await self.collection.bulk_write(ops, ordered=False)

    async def fetch(
        self,
        project_id: str,
        keys: list[str] | None,
        dim: str,
        grain: str,
        since: datetime | None,
        until: datetime | None,
        *,
        with_hist: bool,
    ) -> list[GroupRollup]:
        docs = await self._find(project_id, keys, dim, grain, since, until, with_hist=with_hist)
        return [GroupRollup(_group_id(d), Rollup.from_doc(d, d.get("h"))) for d in docs]

    async def _find(
        self,
        project_id: str,
        keys: list[str] | None,
        dim: str,
        grain: str,
        since: datetime | None,
        until: datetime | None,
        *,
        with_hist: bool,
    ) -> list[dict[str, Any]]:
        return await find_buckets(
            self.collection,
            project_id,
            keys,
            grain,
            since,
            until,
            where={"d": dim},
            projection=None if with_hist else {"h": 0},
        )

    async def save_extremes(
        self, group: GroupRollup, min_score: float | None, max_score: float | None
    ) -> bool:
        """As FeedbackRollupStore.save_extremes, for a grouped rollup."""
        result = await self.collection.update_one(
            {**group.id.filter(), "v": group.rollup.version},
            save_extremes_update(min_score, max_score),
        )
        return result.modified_count == 1

    async def write_rebuilt(
        self,
        values: dict[GroupRollupId, RollupDelta],
        slots: dict[SlotsId, list[str | None]],
        stamp: str,
    ) -> None:
        """Rebuild: set these grouped rollups and slots exactly, stamped."""
        await write_replacements(self.collection, values, stamp, inline_hist=True)
        ops = [
            UpdateOne(
                sid.filter(), {"$set": {"vals": vals, "n": len(vals), "rb": stamp}}, upsert=True
            )
            for sid, vals in slots.items()
        ]
        for at in range(0, len(ops), 1000):
            await self.collection.bulk_write(ops[at : at + 1000], ordered=False)

    async def delete_unstamped(
        self,
        project_id: str,
        key: str | None,
        stamp: str,
        *,
        keep_from: datetime,
        keep_before: datetime | None = None,
    ) -> None:
        """After a rebuild: delete what it did not write (as FeedbackRollupStore)."""
        await delete_unstamped(
            self.collection, project_id, key, stamp, keep_from=keep_from, keep_before=keep_before
        )

    async def forget_value(self, project_id: str, dim: str, value: str) -> None:
        """Drop a value's groups and take it off the slots of their buckets (an
        erased end user): its counts are already subtracted. Its slots are not
        given out again (``n`` stays)."""
        query = {"project_id": project_id, "d": dim, "gv": value}
        docs = await self.collection.find(query, {"key": 1, "g": 1, "t": 1}).to_list()
        buckets = {SlotsId(project_id, d["key"], dim, d["g"], d["t"]) for d in docs}
        ops = [UpdateOne(b.filter(), {"$pull": {"vals": value}}) for b in buckets]
        for at in range(0, len(ops), 1000):
            await self.collection.bulk_write(ops[at : at + 1000], ordered=False)
        await self.collection.delete_many(query)

    async def drop_before(self, project_id: str, dim: str, before: datetime) -> int:
        """Delete a grouping's rollups of buckets before ``before`` (retention)."""
        result = await self.collection.delete_many(
            {"project_id": project_id, "d": dim, "t": time_range(None, before)}
        )
        return result.deleted_count


def rollup_id(gid: GroupRollupId) -> RollupId:
    return RollupId(gid.project_id, gid.key, gid.grain, gid.start)
