"""Reading statistics grouped by user, source, model, tag or tracing project from
the grouped rollups (app/domain/analytics/group_rollups.py): the same pieces as
app/domain/analytics/rollup_reads.py (whole days, whole hours, partial hours raw),
read from grouped rollups. Edges read raw give every value its own group, so a
value counted in "other" in a bucket may also show a group of its own holding only
its records at the window's edges."""

from __future__ import annotations

import asyncio
from datetime import datetime

from app import clock
from app.domain.analytics import windows
from app.domain.analytics.rollup_reads import Extremes
from app.domain.lifecycle.retention import retained_since
from app.store import Stores
from app.store.feedback_analytics import Dimension, StatsFilter
from app.store.feedback_group_buckets import BucketId, GroupRollup, GroupRollupId, value_id


async def fix_group_extremes(
    stores: Stores, found: list[GroupRollup]
) -> dict[GroupRollupId, Extremes]:
    """As rollup_reads.fix_extremes, for grouped rollups: min/max of dirty ones
    recounted from raw feedback grouped by value and bucket ("other": over the
    values without a group of their own in that bucket), and saved unless the
    bucket changed since it was read (its version: a value id path is no field
    an index can name, and one write saves every group of a bucket)."""
    stale = [g for g in found if g.rollup.dirty and g.rollup.scored > 0]
    if not stale:
        return {}
    horizons: dict[str, datetime | None] = {}
    for project_id in {g.id.project_id for g in stale}:
        horizons[project_id] = await retained_since(stores, project_id, clock.now())
    stale = [g for g in stale if (h := horizons[g.id.project_id]) is None or g.id.start >= h]
    scopes: dict[tuple[str, str, str, str], list[GroupRollup]] = {}
    for g in stale:
        scopes.setdefault((g.id.project_id, g.id.key, g.id.dim, g.id.grain), []).append(g)
    fixed: dict[GroupRollupId, Extremes] = {}
    for (project_id, key, dim, grain), group in scopes.items():
        since = min(g.id.start for g in group)
        until = max(g.id.start for g in group) + windows.STEP[grain]
        rows = await stores.feedback_analytics.stats_rows(
            project_id,
            StatsFilter(keys=[key], since=since, until=until),
            [Dimension(dim), Dimension("time", unit=grain)],
            {},
            default_threshold=0.0,
            with_hist=False,
        )
        per_bucket: dict[BucketId, dict[GroupRollupId, Extremes]] = {}
        versions: dict[BucketId, int] = {}
        for g in group:
            lows, highs = [], []
            for row in rows:
                if windows.as_utc(row.dims[1]) != g.id.start or row.min_score is None:
                    continue
                value = row.dims[0]
                if (value_id(value) not in g.owners) if g.id.other else (value == g.id.value):
                    lows.append(row.min_score)
                    highs.append(row.max_score)
            low = min(lows) if lows else None
            high = max(h for h in highs if h is not None) if lows else None
            fixed[g.id] = (low, high)
            per_bucket.setdefault(g.id.bucket, {})[g.id] = (low, high)
            versions[g.id.bucket] = g.rollup.version
        # One version-checked update per bucket saves all its recounted groups.
        store = stores.feedback_group_buckets
        await asyncio.gather(*(store.save_extremes(s, versions[b]) for b, s in per_bucket.items()))
    return fixed
