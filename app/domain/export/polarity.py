"""Whether feedback on a key says a run was good (positive) or bad (negative).

The rule, per (run, key): take the mean of the live, unretracted scores on the key
(booleans count as 1 and 0), then read the key's registration:

- boolean key: mean above 0.5 is positive (true), below is negative (false);
- continuous key with both ``min`` and ``max``, or categorical key (its categories'
  lowest and highest values): above the midpoint of min..max is positive, below it
  negative;
- continuous key missing a bound, and any key that is not registered: above 0 is
  positive, 0 or below negative;
- freeform key: neither.

A mean exactly at the midpoint is neither. A key registered with
``higher_is_better: false`` swaps positive and negative.

The same rule is written twice: ``polarity`` in Python (for checking and docs) and
``polarity_expression`` as an aggregation expression, so exports classify inside the
database and stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.store.feedback_keys import FeedbackKey

POSITIVE = 1
NEGATIVE = -1
NEUTRAL = 0


@dataclass(frozen=True)
class Rule:
    # "midpoint": compare with ``midpoint``; "zero": > 0 vs <= 0; "none": no polarity.
    mode: str
    midpoint: float = 0.0
    higher_is_better: bool = True


UNREGISTERED = Rule("zero")


def rule_for(fk: FeedbackKey | None) -> Rule:
    if fk is None:
        return UNREGISTERED
    better = fk.higher_is_better
    if fk.kind == "boolean":
        return Rule("midpoint", 0.5, better)
    if fk.kind == "continuous":
        if fk.min is not None and fk.max is not None:
            return Rule("midpoint", (fk.min + fk.max) / 2, better)
        return Rule("zero", 0.0, better)
    if fk.kind == "categorical" and fk.categories:
        values = [c.value for c in fk.categories]
        return Rule("midpoint", (min(values) + max(values)) / 2, better)
    return Rule("none")


def polarity(mean: float, rule: Rule) -> int:
    sign = 1 if rule.higher_is_better else -1
    if rule.mode == "none":
        return NEUTRAL
    if rule.mode == "zero":
        return sign if mean > 0 else -sign
    if mean > rule.midpoint:
        return sign
    if mean < rule.midpoint:
        return -sign
    return NEUTRAL


def _expression(rule: Rule, mean: str) -> Any:
    sign = 1 if rule.higher_is_better else -1
    if rule.mode == "none":
        return NEUTRAL
    if rule.mode == "zero":
        return {"$cond": [{"$gt": [mean, 0]}, sign, -sign]}
    return {
        "$cond": [
            {"$gt": [mean, rule.midpoint]},
            sign,
            {"$cond": [{"$lt": [mean, rule.midpoint]}, -sign, NEUTRAL]},
        ]
    }


def polarity_expression(
    keys: Mapping[str, FeedbackKey], *, mean: str = "$mean", key: str = "$_id.key"
) -> dict[str, Any]:
    """An aggregation expression giving 1, -1 or 0 for a row with ``mean`` and ``key``."""
    branches = [
        {"case": {"$eq": [key, name]}, "then": _expression(rule_for(fk), mean)}
        for name, fk in sorted(keys.items())
    ]
    default: dict[str, Any] = _expression(UNREGISTERED, mean)
    if not branches:
        return default
    return {"$switch": {"branches": branches, "default": default}}
