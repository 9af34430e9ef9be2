"""Recompute rollups, and the runs' tallies for worst runs, from the raw feedback
(``plaudit rollups rebuild``).

The rebuild streams every live feedback record of a project (or one key) through
the same contribution code the write path uses, then sets each rollup to the
result and deletes rollups whose feedback is gone. Run it after restoring a
backup, after a crash lost a flush interval of rollup updates, or after changing a
key's range. It is safe while Plaudit serves, except that a write landing during
the rebuild can be counted twice or not at all in its hour; run it again (or
while writes are paused) for exact numbers.

A project with a retention period (app/domain/lifecycle/retention.py) has no raw
feedback before it: rollups of days before the first whole day within it are left
as they are, so statistics over time keep working for expired periods (worst
runs read those days from the raw feedback, so their tallies are never read).

Grouped rollups (app/domain/analytics/group_rollups.py) are rebuilt in a second
pass, a day of feedback at a time (so memory holds one day's groups), with the
thresholds the first pass settled; in each bucket the values with the most records
get their own groups, and each bucket is written as one document.
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
from app.domain.analytics.tallies import add_change, run_change
from app.domain.lifecycle.retention import retained_since
from app.store import Stores
from app.store.feedback_analytics import ScoreRow
from app.store.feedback_rollups import GRAINS, RollupDelta, RollupId, binary_hist
from app.store.run_days import from_tallies
from app.store.run_tallies import TallyDelta, TallyId

# The two rules an unregistered key can turn out to have once all its scores are
# seen: its tallies are counted under both and the settled one is kept.
UNREGISTERED = (KeyRule.of("", None, binary=True), KeyRule.of("", None, binary=False))


async def rebuild_rollups(stores: Stores, project_id: str, key: str | None = None) -> int:
    """Rebuild one project's rollups and tallies (or one key's); returns how many
    rollups were written."""
    return await _rebuild(stores, project_id, key, rollups=True)


async def rebuild_tallies(stores: Stores, project_id: str, key: str | None = None) -> int:
    """Rebuild one project's run tallies only (or one key's); returns how many
    tally documents were written."""
    return await _rebuild(stores, project_id, key, rollups=False)


async def _rebuild(stores: Stores, project_id: str, key: str | None, *, rollups: bool) -> int:
    started = clock.now()
    since = await retained_since(stores, project_id, started)
    rules: dict[str, KeyRule] = await load_rules(stores, project_id, None)
    values: dict[RollupId, RollupDelta] = {}
    tallies = _TallyCounts()
    # From the oldest record still kept: run days count every live score (a run's
    # lifetime bounds its count in any window, app/domain/analytics/run_day_reads.py).
    async for row in stores.feedback_analytics.live_scores(project_id, key, None):
        rule = rules.get(row.key)
        if rule is None:  # no rollups yet: settled below, once its scores are known
            rule = rules[row.key] = KeyRule.of(row.key, None)
        tallies.add(project_id, rule, row)
        if not rollups or (since is not None and row.created_at < since):
            continue
        delta = change_delta(rule, None, Contribution(row.score, row.commented))
        if delta is None:
            continue
        for grain in GRAINS:
            rid = RollupId(project_id, row.key, grain, windows.floor(row.created_at, grain))
            values.setdefault(rid, RollupDelta()).merge(delta)
    settled = _settle_unregistered(values, rules) if rollups else {}
    keep_from = windows.floor(started, "day")
    stamp = uuid.uuid4().hex
    counted = tallies.result(rules, settled)
    await stores.run_days.replace_scope(
        project_id,
        key,
        from_tallies(counted),
        keys=[key] if key is not None else sorted(rules),
        stamp=stamp,
        started=started,
    )
    written = await stores.run_tallies.replace_scope(
        project_id,
        key,
        {tid: delta for tid, delta in counted.items() if since is None or tid.start >= since},
        stamp=stamp,
        keep_from=keep_from,
        keep_before=since,
    )
    if not rollups:
        return written
    written = await stores.feedback_rollups.replace_scope(
        project_id, key, values, stamp=stamp, keep_from=keep_from, keep_before=since
    )
    await _rebuild_groups(stores, project_id, key, rules | settled, since, keep_from, stamp)
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
                None if row.pending else row.run_id,
                row.user_id,
                row.source_type,
            )
            pending.setdefault(at, RollupDelta()).merge(delta)
        values, slots = rank(expand(await resolve(stores, pending)))
        await stores.feedback_group_buckets.write_rebuilt(values, slots, stamp)
        day += windows.DAY
    await stores.feedback_group_buckets.delete_unstamped(
        project_id, key, stamp, keep_from=keep_from, keep_before=since
    )


class _TallyCounts:
    """Tallies counted with each key's rule; an unregistered key's under both rules
    it may settle on."""

    def __init__(self) -> None:
        self.by_rule: dict[str, dict[TallyId, TallyDelta]] = {}

    def add(self, project_id: str, rule: KeyRule, row: ScoreRow) -> None:
        candidates = (rule,) if rule.registered else UNREGISTERED
        for candidate in candidates:
            change = run_change(candidate, None, Contribution(row.score, False), row.created_at)
            if change is not None:
                deltas = self.by_rule.setdefault(candidate.rule_id, {})
                add_change(deltas, project_id, row.key, row.run_id, row.created_at, change)

    def result(
        self, rules: dict[str, KeyRule], settled: dict[str, KeyRule]
    ) -> dict[TallyId, TallyDelta]:
        out: dict[TallyId, TallyDelta] = {}
        for rule_id, deltas in self.by_rule.items():
            for tid, delta in deltas.items():
                rule = settled.get(tid.key) or rules[tid.key]
                if rule.rule_id == rule_id:
                    out[tid] = delta
        return out


def _settle_unregistered(
    values: dict[RollupId, RollupDelta], rules: dict[str, KeyRule]
) -> dict[str, KeyRule]:
    """An unregistered key was counted as the old rollups described it; recount the
    sides of those whose scores, now all seen, say otherwise (boolean or not).
    Returns the rules that changed."""
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
