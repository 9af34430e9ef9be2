"""What one feedback record adds to its rollups, and what a change to it changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.analytics.rules import KeyRule
from app.store.feedback import Feedback
from app.store.feedback_rollups import RollupDelta
from app.store.score_bins import as_number, bin_key


@dataclass(frozen=True)
class Contribution:
    score: float | bool | None
    commented: bool


def contribution(record: Feedback | None) -> Contribution | None:
    """None for a record that does not count: absent, deleted or retracted."""
    if record is None or record.deleted or record.retracted:
        return None
    comment = record.comment
    return Contribution(score=record.score, commented=isinstance(comment, str) and comment != "")


def _same_score(a: float | bool | None, b: float | bool | None) -> bool:
    return type(a) is type(b) and a == b


def add_score(delta: RollupDelta, rule: KeyRule, score: float | bool, sign: int) -> None:
    value = as_number(score)
    delta.scored += sign
    delta.total += sign * value
    delta.total_sq += sign * value * value
    delta.hist[bin_key(value)] += sign
    above, below = rule.sides(score)
    delta.above += sign * above
    delta.below += sign * below
    if isinstance(score, bool):
        if score:
            delta.bool_true += sign
        else:
            delta.bool_false += sign
    else:
        delta.rules.add(rule.rule_id)
    if sign > 0:
        delta.add_min = value if delta.add_min is None else min(delta.add_min, value)
        delta.add_max = value if delta.add_max is None else max(delta.add_max, value)
    else:
        # min/max cannot be decremented: the rollup is recounted when next read.
        delta.dirty = True


def change_delta(
    rule: KeyRule, before: Contribution | None, after: Contribution | None
) -> RollupDelta | None:
    """The rollup change for a record going from ``before`` to ``after``."""
    if before == after:
        return None
    delta = RollupDelta()
    for sign, part in ((-1, before), (1, after)):
        if part is not None:
            delta.count += sign
            delta.commented += sign * part.commented
    keep_score = before is not None and after is not None and _same_score(before.score, after.score)
    if not keep_score:
        if before is not None and before.score is not None:
            add_score(delta, rule, before.score, -1)
        if after is not None and after.score is not None:
            add_score(delta, rule, after.score, 1)
    return None if delta.is_noop() else delta


def bucket_time(record: Feedback) -> datetime:
    """Feedback is counted in the hour it was first recorded (``created_at``)."""
    return record.created_at
