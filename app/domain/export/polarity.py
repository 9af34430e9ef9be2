"""Whether feedback on a key says a run was good (positive) or bad (negative), as
an aggregation expression, so exports classify inside the database and stream.

The rule is the one in app/domain/analytics/rules.py, applied to the mean of a
run's live, unretracted scores on the key (booleans as 1 and 0): above the key's
threshold is high, below it low, on it neither; high is positive unless the key
was registered with ``higher_is_better: false``; a freeform key is neither.
:meth:`KeyRule.polarity` is the same rule in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.analytics.rules import NEUTRAL, UNSEEN_THRESHOLD, KeyRule


def _expression(threshold: float | None, higher_is_better: bool, mean: str) -> Any:
    if threshold is None:
        return NEUTRAL
    sign = 1 if higher_is_better else -1
    return {
        "$cond": [
            {"$gt": [mean, threshold]},
            sign,
            {"$cond": [{"$lt": [mean, threshold]}, -sign, NEUTRAL]},
        ]
    }


def polarity_expression(
    rules: Mapping[str, KeyRule], *, mean: str = "$mean", key: str = "$_id.key"
) -> dict[str, Any]:
    """An aggregation expression giving 1, -1 or 0 for a row with ``mean`` and
    ``key``; a key without a rule reads as one with no rollups yet (boolean)."""
    branches = [
        {"case": {"$eq": [key, name]}, "then": _expression(r.threshold, r.higher_is_better, mean)}
        for name, r in sorted(rules.items())
    ]
    default: dict[str, Any] = _expression(UNSEEN_THRESHOLD, True, mean)
    if not branches:
        return default
    return {"$switch": {"branches": branches, "default": default}}
