"""Grouped rollups: the sums of app/store/feedback_rollups.py per project, key,
hour (and day) AND value of one grouping (user, source, model, tag, tracing
project), so statistics grouped that way read rollups, not feedback.

ONE document per bucket: (project, key, grouping ``d``, grain ``g`` hour or day,
start ``t``), holding all its groups, so a flush writes one update per bucket it
touches, whatever number of values it adds to, and a rebuild one document:

    gs   group id -> the group's sums, under the rollups' short names (c, n, cm, s,
         q, hi, lo, bt, bf, mn, mx, r, dirty), and ``gv``, the value itself
    hs   group id -> the group's histogram (bin -> count), apart from ``gs`` so
         reads without percentiles leave histograms out
    ids  the group ids of the values that own a group in this bucket (not
         indexed: see ``forget_value``)
    n    how many values were ever given a group here (the bound is checked
         against it, so an erased value's slot is not handed out again)
    v    version, +1 on every change (guards the saving of recounted min/max)
    rb   stamp of the rebuild that last set the document

A group id is :func:`value_id`: short, fixed-length and safe as a field name
whatever the value holds (``.``, ``$``, nothing, 10,000 characters, or None);
``o`` is the "other" group: records of values that came after the bucket's
groups were all given out.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from app.store.bulk_upserts import (
    BulkUpsertError,
    bulk_upsert,
    delete_unstamped,
    find_buckets,
    write_batched,
)
from app.store.feedback_rollups import GRAINS, Rollup, RollupDelta
from app.store.ranges import MS, time_range

COLLECTION = "feedback_group_buckets"
OTHER = "o"


def value_id(value: str | None) -> str:
    """A value's group id in a bucket: ``v`` and 96 bits of its BLAKE2b hash (None
    has its own); never ``o``, never holds ``.`` or ``$``."""
    raw = b"n" if value is None else b"s" + value.encode("utf-8", "surrogatepass")
    return "v" + hashlib.blake2b(raw, digest_size=12).hexdigest()


@dataclass(frozen=True)
class BucketId:
    """One bucket: a key, a grouping, a grain and a start (one document)."""

    project_id: str
    key: str
    dim: str  # user | source | model | tag | session
    grain: str  # hour | day
    start: datetime

    def filter(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "key": self.key,
            "d": self.dim,
            "g": self.grain,
            "t": self.start,
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
class GroupRollupId:
    project_id: str
    key: str
    dim: str
    grain: str
    start: datetime
    value: str | None
    other: bool = False

    @property
    def bucket(self) -> BucketId:
        return BucketId(self.project_id, self.key, self.dim, self.grain, self.start)

    @property
    def ref(self) -> str:
        """Its field in the bucket's ``gs`` and ``hs``."""
        return OTHER if self.other else value_id(self.value)


@dataclass(frozen=True)
class Slots:
    ids: frozenset[str]  # value ids owning a group
    given: int  # slots ever given out in this bucket

    def owns(self, value: str | None) -> bool:
        return value_id(value) in self.ids


@dataclass(frozen=True)
class GroupRollup:
    id: GroupRollupId
    rollup: Rollup  # its sums; ``rollup.version`` is its bucket's
    owners: frozenset[str]  # the value ids owning a group in its bucket


class GroupBucketWriteError(Exception):
    """Some buckets' updates were not written (each one all or nothing)."""

    def __init__(self, failed: set[BucketId]) -> None:
        super().__init__(f"{len(failed)} grouped rollup buckets not written")
        self.failed = failed


def _bucket_id(doc: dict[str, Any]) -> BucketId:
    return BucketId(doc["project_id"], doc["key"], doc["d"], doc["g"], doc["t"])


def _slots(doc: dict[str, Any]) -> Slots:
    ids = frozenset(doc.get("ids") or [])
    return Slots(ids, max(doc.get("n", 0), len(ids)))


def _groups(doc: dict[str, Any]) -> list[GroupRollup]:
    """A bucket document as the per-value rows the domain reads."""
    bucket = _bucket_id(doc)
    owners = _slots(doc).ids
    hists = doc.get("hs") or {}
    found = []
    for ref, sums in (doc.get("gs") or {}).items():
        other = ref == OTHER
        gid = bucket.group(None if other else sums.get("gv"), own=not other)
        flat = {**sums, "project_id": bucket.project_id, "key": bucket.key}
        flat.update({"g": bucket.grain, "t": bucket.start, "v": doc.get("v", 0)})
        found.append(GroupRollup(gid, Rollup.from_doc(flat, hists.get(ref)), owners))
    return found


def _update(
    groups: list[tuple[GroupRollupId, RollupDelta]], given: list[str | None]
) -> dict[str, Any] | None:
    """One bucket's flush: every group's ``$inc``s, extremes and flags, and the
    values given a group, in one update (None: nothing to write)."""
    inc: dict[str, Any] = {}
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    put: dict[str, Any] = {}
    add: dict[str, Any] = {}
    for gid, delta in groups:
        if delta.is_noop():
            continue
        at = f"gs.{gid.ref}"
        inc.update({f"{at}.{short}": n for short, n in delta.counters().items() if n})
        inc.update({f"hs.{gid.ref}.{b}": n for b, n in delta.hist.items() if n})
        if delta.add_min is not None:
            low[f"{at}.mn"] = delta.add_min
            high[f"{at}.mx"] = delta.add_max
        if delta.dirty:
            put[f"{at}.dirty"] = True
        if delta.rules:
            add[f"{at}.r"] = {"$each": sorted(delta.rules)}
        if not gid.other:
            put[f"{at}.gv"] = gid.value
    if given:
        add["ids"] = {"$each": [value_id(v) for v in given]}
        inc["n"] = len(given)
        put.update({f"gs.{value_id(v)}.gv": v for v in given})
    if not (inc or low or put or add):
        return None
    update: dict[str, Any] = {"$inc": {**inc, "v": 1}}
    for operator, fields in (("$min", low), ("$max", high), ("$set", put), ("$addToSet", add)):
        if fields:
            update[operator] = fields
    return update


def _rebuilt(
    groups: list[tuple[GroupRollupId, RollupDelta]], owners: list[str | None], stamp: str
) -> dict[str, Any]:
    """A rebuild's update of one bucket: its groups exactly, stamped."""
    sums: dict[str, Any] = {}
    hists: dict[str, Any] = {}
    for gid, d in groups:
        group: dict[str, Any] = {**d.counters(), "r": sorted(d.rules), "dirty": False}
        if d.add_min is not None:
            group.update({"mn": d.add_min, "mx": d.add_max})
        if not gid.other:
            group["gv"] = gid.value
        sums[gid.ref] = group
        hists[gid.ref] = {k: n for k, n in d.hist.items() if n}
    ids = [value_id(v) for v in owners]
    doc = {"gs": sums, "hs": hists, "ids": ids, "n": len(ids), "rb": stamp}
    return {"$set": doc, "$inc": {"v": 1}}


def _by_bucket(
    deltas: Mapping[GroupRollupId, RollupDelta],
) -> dict[BucketId, list[tuple[GroupRollupId, RollupDelta]]]:
    out: dict[BucketId, list[tuple[GroupRollupId, RollupDelta]]] = {}
    for gid, delta in deltas.items():
        out.setdefault(gid.bucket, []).append((gid, delta))
    return out


class FeedbackGroupBucketStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[COLLECTION]

    async def apply(
        self,
        deltas: Mapping[GroupRollupId, RollupDelta],
        given: Mapping[BucketId, list[str | None]] | None = None,
    ) -> None:
        """One unordered bulk write, one ``$inc`` upsert per bucket touched (its
        values' groups and the groups ``given`` to new values together). Raises
        :class:`GroupBucketWriteError` naming the buckets not written."""
        grouped = _by_bucket(deltas)
        buckets: list[BucketId] = []
        ops: list[UpdateOne] = []
        for bucket in grouped.keys() | (given or {}).keys():
            update = _update(grouped.get(bucket, []), (given or {}).get(bucket, []))
            if update is not None:
                buckets.append(bucket)
                ops.append(UpdateOne(bucket.filter(), update, upsert=True))
        try:
            await bulk_upsert(self.collection, ops)
        except BulkUpsertError as exc:
            raise GroupBucketWriteError({buckets[i] for i in exc.failed}) from exc

    async def slots(self, buckets: set[BucketId]) -> dict[BucketId, Slots]:
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
                "g": grain,
                "t": time_range(min(starts), max(starts) + MS),
            }
            projection = {"project_id": 1, "key": 1, "d": 1, "g": 1, "t": 1, "ids": 1, "n": 1}
            return await self.collection.find(query, projection).to_list()

        scopes = list(spans.items())
        found = await asyncio.gather(*(one(scope, starts) for scope, starts in scopes))
        return {
            bid: _slots(doc)
            for docs in found
            for doc in docs
            if (bid := _bucket_id(doc)) in buckets
        }

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
        """Every group of the buckets of ``grain`` starting in ``[since, until)``;
        with their histograms when ``with_hist``."""
        docs = await find_buckets(
            self.collection,
            project_id,
            keys,
            grain,
            since,
            until,
            where={"d": dim},
            projection=None if with_hist else {"hs": 0},
        )
        return [group for doc in docs for group in _groups(doc)]

    async def save_extremes(
        self, saves: Mapping[GroupRollupId, tuple[float | None, float | None]], version: int
    ) -> bool:
        """Store recounted min and max of some groups of ONE bucket and clear their
        ``dirty``, unless the bucket changed since it was read (its version moved;
        see FeedbackRollupStore.save_extremes). The check is inside the update (a
        pipeline: each field keeps its value unless the version is still the one
        read), so the filter is the bucket's unique key and no index on the version
        is kept up to date by every write."""
        if not saves:
            return True
        unchanged = {"$eq": ["$v", version]}
        fields: dict[str, Any] = {}
        for gid, (low, high) in saves.items():
            at = f"gs.{gid.ref}"
            found: dict[str, Any] = {"mn": low, "mx": high, "dirty": False}
            if low is None:  # no score left: the fields go
                found.update(mn="$$REMOVE", mx="$$REMOVE")
            for name, value in found.items():
                fields[f"{at}.{name}"] = {"$cond": [unchanged, value, f"${at}.{name}"]}
        bucket = next(iter(saves)).bucket
        result = await self.collection.update_one(bucket.filter(), [{"$set": fields}])
        return result.modified_count == 1

    async def write_rebuilt(
        self,
        values: Mapping[GroupRollupId, RollupDelta],
        slots: Mapping[BucketId, list[str | None]],
        stamp: str,
    ) -> int:
        """Rebuild: set these buckets exactly (one document each), stamped; returns
        how many were written."""
        grouped = _by_bucket(values)
        ops = (
            UpdateOne(b.filter(), _rebuilt(groups, slots.get(b, []), stamp), upsert=True)
            for b, groups in grouped.items()
        )
        await write_batched(self.collection, ops)
        return len(grouped)

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
        """Drop a value's groups from every bucket that holds them (an erased end
        user: its counts are already subtracted). Its slots are not given out again
        (``n`` stays). The buckets are found by reading the grouping's ``ids`` (an
        indexed read of the project's buckets of that grouping, as many as its keys
        times its hours, whatever the number of records): a multikey index on
        ``ids`` would cost every write a dozen milliseconds on the embedded store."""
        vid = value_id(value)
        holding: list[Any] = []
        for grain in GRAINS:
            query = {"project_id": project_id, "d": dim, "g": grain}
            async for doc in self.collection.find(query, {"ids": 1}, batch_size=1000):
                if vid in (doc.get("ids") or ()):
                    holding.append(doc["_id"])
        for at in range(0, len(holding), 1000):
            await self.collection.update_many(
                {"_id": {"$in": holding[at : at + 1000]}},
                {
                    "$unset": {f"gs.{vid}": "", f"hs.{vid}": ""},
                    "$pull": {"ids": vid},
                    "$inc": {"v": 1},
                },
            )

    async def drop_before(self, project_id: str, dim: str, before: datetime) -> int:
        """Delete a grouping's buckets starting before ``before`` (retention)."""
        deleted = 0
        for grain in GRAINS:
            result = await self.collection.delete_many(
                {"project_id": project_id, "d": dim, "g": grain, "t": time_range(None, before)}
            )
            deleted += result.deleted_count
        return deleted
