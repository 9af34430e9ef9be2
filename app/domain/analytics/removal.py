"""Take removed feedback out of the rollups and the runs' tallies (after an erasure
or a run deletion).

Exact and immediate: each record's contribution is subtracted from its hour and
day, with the same code the write path uses, instead of a rebuild, which would
miss today's buckets and drop days whose raw feedback has expired under a
retention period. Records removed by retention itself are not subtracted:
statistics over time keep counting them, and worst runs read the days before the
retention horizon from the raw feedback (app/domain/analytics/worst_runs.py).

Grouped rollups lose the records too, under the groups they were counted in: the
runs' model, tags and session are read before the runs go (``runs``)."""

from __future__ import annotations

from collections.abc import Mapping

from app.domain import feedback_events
from app.domain.analytics import windows
from app.domain.analytics.contributions import bucket_time, change_delta, contribution
from app.domain.analytics.group_rollups import (
    Attribution,
    attribution,
    grouped_values,
    write_values,
)
from app.domain.analytics.rollup_buffer import RollupBuffer
from app.domain.analytics.rules import KeyRuleCache
from app.domain.analytics.tallies import add_change, run_change
from app.store import Stores
from app.store.feedback import Feedback
from app.store.feedback_rollups import GRAINS, RollupDelta, RollupId
from app.store.run_days import from_tallies
from app.store.run_tallies import TallyDelta, TallyId
from app.store.runs import RunGroupFields


async def subtract_feedback(
    stores: Stores, records: list[Feedback], runs: Mapping[str, RunGroupFields] | None = None
) -> None:
    """Remove these live records' contributions from the rollups, the runs' tallies
    and the grouped rollups (``runs``: the group fields of runs already deleted;
    others are read)."""
    for observer in feedback_events.observers(stores):
        if isinstance(observer, RollupBuffer):
            # A record created moments ago may still be buffered: the group it is
            # counted in is chosen when it is flushed, and its removal must land there.
            await observer.flush()
    rules = KeyRuleCache(stores)
    deltas: dict[RollupId, RollupDelta] = {}
    tallies: dict[TallyId, TallyDelta] = {}
    grouped: dict[Attribution, RollupDelta] = {}
    for record in records:
        rule = await rules.get(record.project_id, record.key)
        counted = contribution(record)
        change = run_change(rule, counted, None, bucket_time(record))
        if change is not None:
            at = bucket_time(record)
            add_change(tallies, record.project_id, record.key, record.run_id, at, change)
        delta = change_delta(rule, counted, None)
        if delta is None:
            continue
        grouped.setdefault(attribution(record), RollupDelta()).merge(delta)
        for grain in GRAINS:
            at = windows.floor(bucket_time(record), grain)
            rid = RollupId(record.project_id, record.key, grain, at)
            deltas.setdefault(rid, RollupDelta()).merge(delta)
    if deltas:
        await stores.feedback_rollups.apply(deltas)
    if tallies:
        await stores.run_tallies.apply(tallies)
        await stores.run_days.apply(from_tallies(tallies))
    if grouped:
        await write_values(stores, await grouped_values(stores, grouped, runs))
