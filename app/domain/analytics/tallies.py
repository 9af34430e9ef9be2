"""What one feedback record adds to its run's tallies (app/store/run_tallies.py),
and what a change to it changes: the write path, erasure and the rebuild all
count with these.

A run's tally on a key counts its live scores above and below the key's threshold
(``hi``/``lo``), all its live scores, and the newest one's ``created_at``; worst
runs turn high and low into positive and negative with the key's direction when
reading, so flipping ``higher_is_better`` needs no recount. Numbers are counted
against a threshold (tagged like the rollups, :attr:`KeyRule.rule_id`); booleans
are always a verdict and carry no tag.
"""

from __future__ import annotations

from datetime import datetime

from app.domain.analytics import windows
from app.domain.analytics.contributions import Contribution
from app.domain.analytics.rules import KeyRule
from app.store.run_tallies import GRAINS, RunCount, TallyDelta, TallyId, shard_of


def _same_score(a: float | bool | None, b: float | bool | None) -> bool:
    return type(a) is type(b) and a == b


def run_change(
    rule: KeyRule, before: Contribution | None, after: Contribution | None, at: datetime
) -> tuple[RunCount, set[str]] | None:
    """The change to a run's tally for a record created ``at`` going from ``before``
    to ``after`` (None: not counted), with the thresholds it was counted against."""
    old = before.score if before is not None else None
    new = after.score if after is not None else None
    if _same_score(old, new):
        return None
    count = RunCount()
    rules: set[str] = set()
    for sign, score in ((-1, old), (1, new)):
        if score is None:
            continue
        above, below = rule.sides(score)
        count.high += sign * above
        count.low += sign * below
        count.scored += sign
        if not isinstance(score, bool):
            rules.add(rule.rule_id)
    if new is not None:
        count.last = at
    elif old is not None:
        count.dirty = True  # the newest time may have gone with it
    return count, rules


def tally_ids(project_id: str, key: str, run_id: str, at: datetime) -> list[TallyId]:
    """The tallies (one per grain) a record created ``at`` on this run counts in."""
    return [TallyId(project_id, key, g, windows.floor(at, g), shard_of(run_id, g)) for g in GRAINS]


def add_change(
    deltas: dict[TallyId, TallyDelta],
    project_id: str,
    key: str,
    run_id: str,
    at: datetime,
    change: tuple[RunCount, set[str]],
) -> None:
    count, rules = change
    for tid in tally_ids(project_id, key, run_id, at):
        deltas.setdefault(tid, TallyDelta()).add(run_id, count, rules)
