"""The sums feedback statistics are computed from: eleven numbers per key and group
(or per rollup bucket), the same in a rollup document and in an aggregation row,
under the same short field names (app/store/feedback_rollups.py explains them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The summed ones, by name and short field name: counted with $inc (rollups) and
# $sum (aggregations). min_score and max_score (mn, mx) are kept with $min/$max.
SUMMED = {
    "count": "c",  # live records
    "scored": "n",  # ... with a score
    "commented": "cm",  # ... with a non-empty comment
    "total": "s",  # sum of scores (booleans as 1/0)
    "total_sq": "q",  # sum of squared scores
    "above": "hi",  # scores above the key's threshold
    "below": "lo",  # ... below it
    "bool_true": "bt",  # boolean scores true
    "bool_false": "bf",  # ... false
}


@dataclass(frozen=True, kw_only=True)
class ScoreSums:
    count: int = 0
    scored: int = 0
    commented: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    min_score: float | None = None
    max_score: float | None = None
    above: int = 0
    below: int = 0
    bool_true: int = 0
    bool_false: int = 0


def sums_from_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """The ScoreSums fields of a rollup document or an aggregation row (a field
    never counted reads as 0)."""
    sums: dict[str, Any] = {name: doc.get(short) or 0 for name, short in SUMMED.items()}
    sums["total"] = float(sums["total"])
    sums["total_sq"] = float(sums["total_sq"])
    sums["min_score"] = doc.get("mn")
    sums["max_score"] = doc.get("mx")
    return sums
