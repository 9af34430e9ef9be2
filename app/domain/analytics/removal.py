"""Take removed feedback out of the rollups and the runs' tallies (after an erasure
or a run deletion).

Exact and immediate: each record's contribution is subtracted from its hour and
day, with the same code the write path uses, instead of a rebuild, which would
miss today's buckets and drop days whose raw feedback has expired under a
retention period. Records removed by retention itself are not subtracted:
statistics over time keep counting them, and worst runs read the days before the
retention horizon from the raw feedback (app/domain/analytics/worst_runs.py)."""

from __future__ import annotations

from app.domain.analytics import windows
from app.domain.analytics.contributions import bucket_time, change_delta, contribution
from app.domain.analytics.rules import KeyRuleCache
from app.domain.analytics.tallies import add_change, run_change
from app.store import Stores
from app.store.feedback import Feedback
from app.store.feedback_rollups import GRAINS, RollupDelta, RollupId
from app.store.run_tallies import TallyDelta, TallyId


async def subtract_feedback(stores: Stores, records: list[Feedback]) -> None:
    """Remove these live records' contributions from the rollups and tallies."""
    rules = KeyRuleCache(stores)
    deltas: dict[RollupId, RollupDelta] = {}
    tallies: dict[TallyId, TallyDelta] = {}
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
        for grain in GRAINS:
            at = windows.floor(bucket_time(record), grain)
            rid = RollupId(record.project_id, record.key, grain, at)
            deltas.setdefault(rid, RollupDelta()).merge(delta)
    if deltas:
        await stores.feedback_rollups.apply(deltas)
    if tallies:
        await stores.run_tallies.apply(tallies)
