"""Take removed feedback out of the rollups (after an erasure or a run deletion).

Exact and immediate: each record's contribution is subtracted from its hour and
day, with the same code the write path uses, instead of a rebuild, which would
miss today's buckets and drop days whose raw feedback has expired under a
retention period. Records removed by retention itself are not subtracted:
statistics over time keep counting them."""

from __future__ import annotations

from app.domain.analytics import windows
from app.domain.analytics.contributions import bucket_time, change_delta, contribution
from app.domain.analytics.rules import KeyRuleCache
from app.store import Stores
from app.store.feedback import Feedback
from app.store.feedback_rollups import GRAINS, RollupDelta, RollupId


async def subtract_feedback(stores: Stores, records: list[Feedback]) -> None:
    """Remove these live records' contributions from the rollups."""
    rules = KeyRuleCache(stores)
    deltas: dict[RollupId, RollupDelta] = {}
    for record in records:
        rule = await rules.get(record.project_id, record.key)
        delta = change_delta(rule, contribution(record), None)
        if delta is None:
            continue
        for grain in GRAINS:
            at = windows.floor(bucket_time(record), grain)
            rid = RollupId(record.project_id, record.key, grain, at)
            deltas.setdefault(rid, RollupDelta()).merge(delta)
    if deltas:
        await stores.feedback_rollups.apply(deltas)
