"""Reading statistics from rollups.

A window ``[since, until)`` is split into the coarsest pieces that answer it
exactly: whole days from day rollups, whole hours from hour rollups, and the
partial hours at either end from the raw feedback. A window that ends in the
future (or has no end) needs no partial piece at the end: no feedback exists after
now. So a 90-day daily series reads about 90 day rollups however many feedback
records those days hold.

Min and max cannot be decremented: a rollup that lost a score is ``dirty`` and
its min/max are recounted from the raw feedback when read (and stored, unless the
rollup changed meanwhile). Positive/negative counts were counted against the key's
threshold when the feedback was written; a rollup counted against another
threshold (the key was registered or re-ranged since) is classified from its
histogram instead, which is exact for scores with at most two decimals, until
``plaudit rollups rebuild`` recounts it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app import clock
from app.domain.analytics import windows
from app.domain.analytics.partial import Partial
from app.domain.analytics.rules import KeyRule
from app.domain.lifecycle.retention import retained_since
from app.store import Stores
from app.store.feedback_rollups import Rollup, RollupId
from app.store.score_bins import bin_value


@dataclass(frozen=True)
class Piece:
    source: str  # day | hour | raw
    since: datetime | None
    until: datetime | None


def plan(since: datetime | None, until: datetime | None, *, hourly: bool) -> list[Piece]:
    """The pieces covering ``[since, until)`` (None: unbounded). ``hourly`` when the
    answer needs hour resolution (day rollups are then not used)."""
    now = clock.now()
    if until is not None and until >= now:
        until = None
    if since is not None and until is not None and since >= until:
        return []
    pieces: list[Piece] = []
    start, end = since, until
    if start is not None:
        start_hour = windows.ceil(start, "hour")
        if end is not None and start_hour >= end:
            return [Piece("raw", start, end)]
        if start_hour != start:
            pieces.append(Piece("raw", start, start_hour))
        start = start_hour
    if end is not None:
        end_hour = windows.floor(end, "hour")
        if end_hour != end:
            pieces.append(Piece("raw", end_hour, end))
        end = end_hour
    if start is not None and end is not None and start >= end:
        return pieces
    if hourly:
        return [*pieces, Piece("hour", start, end)]
    day_start = windows.ceil(start, "day") if start is not None else None
    day_end = windows.floor(end, "day") if end is not None else None
    if day_start is not None and day_end is not None and day_start >= day_end:
        return [*pieces, Piece("hour", start, end)]
    pieces.append(Piece("day", day_start, day_end))
    if start is not None and day_start is not None and start < day_start:
        pieces.append(Piece("hour", start, day_start))
    if end is not None and day_end is not None and day_end < end:
        pieces.append(Piece("hour", day_end, end))
    return pieces


def _stale_extremes(rollup: Rollup) -> bool:
    return rollup.dirty and rollup.scored > 0


Extremes = tuple[float | None, float | None]


async def fix_extremes(stores: Stores, rollups: list[Rollup]) -> dict[RollupId, Extremes]:
    """Recount min/max of dirty rollups from raw feedback (one aggregation per key
    and grain), store them, and return them for this read. Not for days whose raw
    feedback has expired (a retention period): their stored min/max stand."""
    stale = [r for r in rollups if _stale_extremes(r)]
    horizons: dict[str, datetime | None] = {}
    for project_id in {r.id.project_id for r in stale}:
        horizons[project_id] = await retained_since(stores, project_id, clock.now())
    stale = [r for r in stale if (h := horizons[r.id.project_id]) is None or r.id.start >= h]
    by_scope: dict[tuple[str, str, str], list[Rollup]] = {}
    for rollup in stale:
        by_scope.setdefault((rollup.id.project_id, rollup.id.key, rollup.id.grain), []).append(
            rollup
        )
    fixed: dict[RollupId, Extremes] = {}
    for (project_id, key, grain), group in by_scope.items():
        since = min(r.id.start for r in group)
        until = max(r.id.start for r in group) + windows.STEP[grain]
        found = await stores.feedback_analytics.extremes(project_id, key, grain, since, until)
        saves = []
        for rollup in group:
            extremes = found.get(rollup.id.start)
            low = extremes.min_score if extremes else None
            high = extremes.max_score if extremes else None
            fixed[rollup.id] = (low, high)
            saves.append(stores.feedback_rollups.save_extremes(rollup, low, high))
        await asyncio.gather(*saves)
    return fixed


def sides_from_hist(
    rule: KeyRule, hist: Mapping[str, int], bool_true: int, bool_false: int
) -> tuple[int, int]:
    """(above, below) classified from a histogram with the current threshold
    (``bool_true``/``bool_false`` of its counts are booleans, always a verdict)."""
    numeric: Counter[str] = Counter(hist)
    numeric["x100"] -= bool_true
    numeric["x0"] -= bool_false
    above, below = bool_true, bool_false
    for key, n in numeric.items():
        if n <= 0:
            continue
        side = rule.side(bin_value(key))
        if side > 0:
            above += n
        elif side < 0:
            below += n
    return above, below


def needs_hist(rule: KeyRule, rollup: Rollup) -> bool:
    """Whether reading this rollup needs its histogram beyond percentiles: its
    sides were counted against another threshold."""
    return bool(rollup.rules) and rollup.rules != [rule.rule_id]


def to_partial(rule: KeyRule, rollup: Rollup, extremes: Extremes | None) -> Partial:
    low, high = extremes if extremes is not None else (rollup.min_score, rollup.max_score)
    if needs_hist(rule, rollup):
        above, below = sides_from_hist(rule, rollup.hist, rollup.bool_true, rollup.bool_false)
    else:
        above, below = rollup.above, rollup.below
    partial = Partial.of(
        rule, rollup, above=above, below=below, low=low, high=high, hist=Counter(rollup.hist)
    )
    partial.add_labels(rule, rollup.bool_true, rollup.bool_false)
    return partial
