"""Range conditions written with exclusive bounds only.

SecantusDB 0.7 (the embedded store) misses documents exactly on an inclusive bound
(``$gte``/``$lte``) when the ranged field is followed by another field in a compound
index, as in ``(project_id, created_at, _id)``. Exclusive bounds are right there, so:

- dates: BSON dates have millisecond precision, so ``$gte: t`` is exactly
  ``$gt: t - 1ms`` (and ``$lte: t`` is ``$lt: t + 1ms``), on any MongoDB;
- numbers: ``x >= v`` is written ``x > v or x == v``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

MS = timedelta(milliseconds=1)


def _floor_ms(at: datetime) -> datetime:
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000)


def time_range(
    since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any] | None:
    """``since <= t < until`` for a date field, or None when neither is given."""
    condition: dict[str, Any] = {}
    if since is not None:
        floored = _floor_ms(since)
        # A since with sub-millisecond digits matches from the next millisecond on.
        condition["$gt"] = floored - MS if floored == since else floored
    if until is not None:
        condition["$lt"] = until
    return condition or None


def number_range(
    field: str, low: float | None = None, high: float | None = None
) -> list[dict[str, Any]]:
    """Conditions (to AND together) for ``low <= field <= high``."""
    conditions: list[dict[str, Any]] = []
    if low is not None:
        conditions.append({"$or": [{field: {"$gt": low}}, {field: low}]})
    if high is not None:
        conditions.append({"$or": [{field: {"$lt": high}}, {field: high}]})
    return conditions
