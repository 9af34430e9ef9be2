"""Grouped rollups: what one feedback record adds to the rollups of its user,
source, model, tags and tracing project (app/store/feedback_group_buckets.py).

A record's groups come from the record (user, source) and from its run (model,
tags, session), read when its change is flushed; a flush writes one update per
bucket (key, grouping, hour or day) it touches. Pending feedback (its run has not
arrived) counts as having no run, as the raw aggregation counts it; when the run
arrives, the record moves to its run's groups (``attached``).

Each (key, grouping, hour or day) gives at most ``MAX_GROUPS`` values a group of
their own, first come first served on the write path (a rebuild gives them to the
values with the most records); the records of any further value count in that
bucket's "other" group. A value keeps its group for good, so a record's
contribution is always subtracted from where it was added.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.domain.analytics import windows
from app.domain.analytics.contributions import bucket_time
from app.store import Stores
from app.store.feedback import Feedback
from app.store.feedback_group_buckets import BucketId, GroupRollupId, Slots
from app.store.feedback_rollups import GRAINS, RollupDelta
from app.store.runs import RunGroupFields

GROUP_DIMENSIONS = ("user", "source", "model", "tag", "session")
MAX_GROUPS = 100


@dataclass(frozen=True)
class Attribution:
    """What a record's groups depend on, before its run is looked up."""

    project_id: str
    key: str
    hour: datetime
    run_id: str | None  # None: pending, counted as having no run
    user_id: str | None
    source_type: str | None


def attribution(record: Feedback) -> Attribution:
    return Attribution(
        record.project_id,
        record.key,
        windows.floor(bucket_time(record), "hour"),
        None if record.pending else record.run_id,
        record.user_id,
        record.source_type,
    )


@dataclass(frozen=True)
class Combo:
    """Everything a record's groups are read from."""

    project_id: str
    key: str
    hour: datetime
    user_id: str | None
    source_type: str | None
    run: RunGroupFields | None

    def values(self, dim: str) -> list[str | None]:
        """The record's value(s) of a grouping: a run counts once per tag, as the
        aggregation unwinds them (no tags, or no run: one None)."""
        if dim == "user":
            return [self.user_id]
        if dim == "source":
            return [self.source_type]
        if self.run is None:
            return [None]
        if dim == "model":
            return [self.run.model]
        if dim == "session":
            return [self.run.session_id]
        return list(self.run.tags) or [None]


ValueDeltas = dict[tuple[BucketId, str | None], RollupDelta]


def expand(combos: Mapping[Combo, RollupDelta]) -> ValueDeltas:
    """Deltas per bucket (key, grouping, grain, start) and value."""
    out: ValueDeltas = {}
    for combo, delta in combos.items():
        for grain in GRAINS:
            start = windows.floor(combo.hour, grain)
            for dim in GROUP_DIMENSIONS:
                sid = BucketId(combo.project_id, combo.key, dim, grain, start)
                for value in combo.values(dim):
                    out.setdefault((sid, value), RollupDelta()).merge(delta)
    return out


def place(
    values: ValueDeltas, slots: dict[BucketId, Slots]
) -> tuple[dict[GroupRollupId, RollupDelta], dict[BucketId, list[str | None]]]:
    """Each value's delta goes to its own group, or to "other" when its bucket's
    groups are all given out; returns the deltas and the newly given slots. Only
    a delta that adds records is given a slot: a value without one had its
    records counted in "other", where their removal must land."""
    given: dict[BucketId, list[str | None]] = {}
    out: dict[GroupRollupId, RollupDelta] = {}
    # Larger deltas first: within one flush, the busiest values get the slots.
    for (sid, value), delta in sorted(values.items(), key=lambda item: -item[1].count):
        known = slots.get(sid, Slots(frozenset(), 0))
        new = given.setdefault(sid, [])
        own = known.owns(value) or value in new
        if not own and delta.count > 0 and known.given + len(new) < MAX_GROUPS:
            new.append(value)
            own = True
        out.setdefault(sid.group(value, own=own), RollupDelta()).merge(delta)
    return out, {sid: vals for sid, vals in given.items() if vals}


def rank(
    values: ValueDeltas,
) -> tuple[dict[GroupRollupId, RollupDelta], dict[BucketId, list[str | None]]]:
    """A rebuild's placement: in each bucket the values with the most records
    (ties: by value) get their own groups, the rest count in "other"."""
    by_bucket: dict[BucketId, list[tuple[str | None, RollupDelta]]] = {}
    for (sid, value), delta in values.items():
        by_bucket.setdefault(sid, []).append((value, delta))
    out: dict[GroupRollupId, RollupDelta] = {}
    slots: dict[BucketId, list[str | None]] = {}
    for sid, entries in by_bucket.items():
        entries.sort(key=lambda e: (-e[1].count, e[0] is None, e[0] or ""))
        slots[sid] = [value for value, _ in entries[:MAX_GROUPS]]
        for index, (value, delta) in enumerate(entries):
            own = index < MAX_GROUPS
            out.setdefault(sid.group(value, own=own), RollupDelta()).merge(delta)
    return out, slots


async def resolve(
    stores: Stores,
    pending: Mapping[Attribution, RollupDelta],
    runs: Mapping[str, RunGroupFields] | None = None,
) -> dict[Combo, RollupDelta]:
    """Look up the runs (those not given in ``runs``) and merge per combination."""
    known = dict(runs or {})
    missing: dict[str, set[str]] = {}
    for a in pending:
        if a.run_id is not None and a.run_id not in known:
            missing.setdefault(a.project_id, set()).add(a.run_id)
    for project_id, run_ids in missing.items():
        known.update(await stores.runs.group_fields(project_id, sorted(run_ids)))
    combos: dict[Combo, RollupDelta] = {}
    for a, delta in pending.items():
        run = known.get(a.run_id) if a.run_id is not None else None
        combo = Combo(a.project_id, a.key, a.hour, a.user_id, a.source_type, run)
        combos.setdefault(combo, RollupDelta()).merge(delta)
    return combos


async def grouped_values(
    stores: Stores,
    pending: Mapping[Attribution, RollupDelta],
    runs: Mapping[str, RunGroupFields] | None = None,
) -> ValueDeltas:
    """The grouped changes of these deltas, per bucket and value (not placed yet)."""
    return expand(await resolve(stores, pending, runs))


async def write_values(stores: Stores, values: ValueDeltas) -> None:
    """Place each value's delta (its group, or "other") against the buckets'
    current slots and write them: one update per bucket, new slots given in it.
    Raises GroupBucketWriteError naming the buckets not written (nothing of them
    was: their deltas can be placed again)."""
    if not values:
        return
    store = stores.feedback_group_buckets
    deltas, given = place(values, await store.slots({sid for sid, _ in values}))
    await store.apply(deltas, given)
