"""Recompute rollups from the raw feedback (``plaudit rollups rebuild``).

The rebuild streams every live feedback record of a project (or one key) through
the same contribution code the write path uses, then sets each rollup to the
result and deletes rollups whose feedback is gone. Run it after restoring a
backup, after a crash lost a flush interval of rollup updates, or after changing a
key's range. It is safe while Plaudit serves, except that a write landing during
the rebuild can be counted twice or not at all in its hour; run it again (or
while writes are paused) for exact numbers.

A project with a retention period (app/domain/lifecycle/retention.py) has no raw
feedback before it: rollups of days before the first whole day within it are left
as they are, so statistics over time keep working for expired periods.

Grouped rollups (app/domain/analytics/group_rollups.py) are rebuilt in a second
pass, a day of feedback at a time (so memory holds one day's groups), with the
thresholds the first pass settled; in each bucket the values with the most records
get their own groups.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from app import clock
from app.domain.analytics import windows
from app.domain.analytics.contributions import Contribution, change_delta
from app.domain.analytics.group_rollups import (
    Attribution,
    expand,
    rank,
    resolve,
)
from app.domain.analytics.rollup_reads import sides_from_hist
from app.domain.analytics.rules import KeyRule, load_rules
from app.domain.lifecycle.retention import retained_since
from app.store import Stores
from app.store.feedback_rollups import GRAINS, RollupDelta, RollupId, binary_hist


async def rebuild_rollups(stores: Stores, project_id: str, key: str | None = None) -> int:
    """Rebuild one project's rollups (or one key's); returns how many were written."""
    started = clock.now()
    since = await retained_since(stores, project_id, started)
    rules: dict[str, KeyRule] = await load_rules(stores, project_id, None)
    values: dict[RollupId, RollupDelta] = {}
    async for row in stores.feedback_analytics.live_scores(project_id, key, since):
        rule = rules.get(row.key)
        if rule is None:  # no rollups yet: settled below, once its scores are known
            rule = rules[row.key] = KeyRule.of(row.key, None)
        delta = change_delta(rule, None, Contribution(row.score, row.commented))
        if delta is None:
            continue
        for grain in GRAINS:
            rid = RollupId(project_id, row.key, grain, windows.floor(row.created_at, grain))
            values.setdefault(rid, RollupDelta()).merge(delta)
    changed = _settle_unregistered(values, rules)
    stamp = uuid.uuid4().hex
    keep_from = windows.floor(started, "day")
    written = await stores.feedback_rollups.replace_scope(
        project_id, key, values, stamp=stamp, keep_from=keep_from, keep_before=since
    )
    await _rebuild_groups(stores, project_id, key, rules | changed, since, keep_from, stamp)
    return written


async def _rebuild_groups(
    stores: Stores,
    project_id: str,
    key: str | None,
    rules: dict[str, KeyRule],
    since: datetime | None,
    keep_from: datetime,
    stamp: str,
) -> None:
    first = await stores.feedback_analytics.first_live_at(project_id, key, since)
    day = windows.floor(first, "day") if first is not None else keep_from
    while first is not None and day <= keep_from:
        pending: dict[Attribution, RollupDelta] = {}
        async for row in stores.feedback_analytics.live_scores(
            project_id, key, day, day + windows.DAY
        ):
            rule = rules.get(row.key) or KeyRule.of(row.key, None)
            delta = change_delta(rule, None, Contribution(row.score, row.commented))
            if delta is None:
                continue
            at = Attribution(
                project_id,
                row.key,
                windows.floor(row.created_at, "hour"),
                row.run_id,
                row.user_id,
                row.source_type,
            )
            pending.setdefault(at, RollupDelta()).merge(delta)
        values, slots = rank(expand(await resolve(stores, pending)))
        await stores.feedback_group_rollups.write_rebuilt(values, slots, stamp)
        day += windows.DAY
    await stores.feedback_group_rollups.delete_unstamped(
        project_id, key, stamp, keep_from=keep_from, keep_before=since
    )


def _settle_unregistered(
    values: dict[RollupId, RollupDelta], rules: dict[str, KeyRule]
) -> dict[str, KeyRule]:
    """An unregistered key was counted as the old rollups described it; recount the
    sides of those whose scores, now all seen, say otherwise (boolean or not).
    Returns the keys' settled rules."""
    binary: dict[str, bool] = {}
    for rid, delta in values.items():
        if rid.grain == "day" and not rules[rid.key].registered:
            binary[rid.key] = binary.get(rid.key, True) and binary_hist(delta.hist)
    changed = {
        k: rule
        for k, b in binary.items()
        if (rule := KeyRule.of(k, None, binary=b)).threshold != rules[k].threshold
    }
    for rid, delta in values.items():
        settled = changed.get(rid.key)
        if settled is None:
            continue
        delta.above, delta.below = sides_from_hist(
            settled, delta.hist, delta.bool_true, delta.bool_false
        )
        delta.rules = {settled.rule_id} if delta.rules else set()
    return changed
