"""UTC time buckets: hours, days, and weeks starting on Monday."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

UNITS = ("hour", "day", "week")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
STEP = {"hour": HOUR, "day": DAY, "week": WEEK}


def as_utc(at: datetime) -> datetime:
    """Aware UTC, truncated to the millisecond as BSON stores it."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000)


def floor(at: datetime, unit: str) -> datetime:
    at = as_utc(at)
    if unit == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    raise ValueError(f"unknown time unit {unit!r}")


def ceil(at: datetime, unit: str) -> datetime:
    start = floor(at, unit)
    return start if start == as_utc(at) else start + STEP[unit]


def starts(since: datetime, until: datetime, unit: str) -> list[datetime]:
    """Every bucket start from the one holding ``since`` up to before ``until``."""
    out = []
    at = floor(since, unit)
    while at < until:
        out.append(at)
        at += STEP[unit]
    return out
