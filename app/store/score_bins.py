"""Histogram bins for scores: what makes percentiles and distributions mergeable.

A score with at most two decimals (and below 10 million in size) gets an exact bin,
``x<hundredths>``: ``x450`` holds exactly the scores 4.5. Any other score goes to a
logarithmic bin (DDSketch-style) with relative accuracy ALPHA: ``p<i>`` holds the
positive scores in (GAMMA**(i-1), GAMMA**i], ``n<i>`` the negative ones mirrored, and
the bin's value is the point within ALPHA of every score in it.

So percentiles read from bins are exact for booleans, categories, ratings and
two-decimal scores, and within 1% (relative) otherwise. Bins are counters, so hour
rollups add up into days and weeks, and one histogram can be summed from many.

The same binning is written twice, in Python (rollups) and as a MongoDB expression
(ad-hoc aggregations), from the same constants.
"""

from __future__ import annotations

import math
from typing import Any

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LN_GAMMA = math.log(GAMMA)
EXACT_LIMIT = 1e7


def as_number(score: float | bool) -> float:
    return 1.0 if score is True else 0.0 if score is False else float(score)


def bin_key(value: float) -> str:
    hundredths = round(value * 100)
    if abs(value) < EXACT_LIMIT and hundredths / 100 == value:
        return f"x{hundredths}"
    index = math.ceil(math.log(abs(value)) / LN_GAMMA)
    return f"{'p' if value > 0 else 'n'}{index}"


def bin_value(key: str) -> float:
    kind, number = key[0], int(key[1:])
    if kind == "x":
        return number / 100
    value = 2 * GAMMA**number / (GAMMA + 1)
    return value if kind == "p" else -value


def key_from_parts(exact: Any, log_index: Any, negative: Any) -> str | None:
    """The bin key from the parts an aggregation computes (see :func:`mongo_bin`)."""
    if exact is not None:
        return f"x{int(exact)}"
    if log_index is not None:
        return f"{'n' if negative else 'p'}{int(log_index)}"
    return None


def mongo_number(score: str = "$score") -> dict[str, Any]:
    """The score as a number: booleans as 1 and 0, others as they are, null if none."""
    return {
        "$switch": {
            "branches": [
                {"case": {"$eq": [{"$type": score}, "bool"]}, "then": {"$cond": [score, 1, 0]}},
                {"case": {"$isNumber": score}, "then": score},
            ],
            "default": None,
        }
    }


def mongo_bin(number: str) -> dict[str, Any]:
    """Fields {bx, bl, bneg} for the bin of ``number`` (a field path like "$v"):
    bx the exact hundredths or null, bl the log index or null."""
    hundredths = {"$round": [{"$multiply": [number, 100]}, 0]}
    exact = {
        "$and": [
            {"$ne": [number, None]},
            {"$lt": [{"$abs": number}, EXACT_LIMIT]},
            {"$eq": [{"$divide": [hundredths, 100]}, number]},
        ]
    }
    return {
        "bx": {"$cond": [exact, hundredths, None]},
        "bl": {
            "$cond": [
                {"$or": [exact, {"$eq": [number, None]}]},
                None,
                {"$ceil": {"$divide": [{"$ln": {"$abs": number}}, LN_GAMMA]}},
            ]
        },
        "bneg": {"$lt": [number, 0]},
    }
