"""How many requests of one kind a process works on at once: one more is refused
at once (429 with Retry-After) rather than queued, so a client that retries with
back-off (an OpenTelemetry exporter) slows down instead of piling up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import RateLimited

RETRY_AFTER_SECONDS = 1


class Admission:
    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self.in_flight = 0

    @contextmanager
    def enter(self) -> Iterator[None]:
        """Hold a place for the block; RateLimited when all are held."""
        if self.in_flight >= self.limit:
            raise RateLimited(
                f"{self.limit} {self.what} already in progress; retry in {RETRY_AFTER_SECONDS} s",
                RETRY_AFTER_SECONDS,
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
