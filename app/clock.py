"""The current time as the database keeps it: UTC, whole milliseconds.

BSON dates have millisecond precision; a record returned straight after it is
written should carry the same time it will read back with."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    at = datetime.now(UTC)
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000)


def epoch_seconds() -> float:
    """Seconds since the epoch: the clock rate-limit windows are aligned to. Call it
    as ``clock.epoch_seconds()`` so a test can pin it to one window."""
    return time.time()
