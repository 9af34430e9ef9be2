"""Feedback that arrived before its run, and what happens to it if the run never does.

Both LangSmith SDKs send runs in background batches, so feedback (or a token) for
a run often comes first. Such feedback is recorded *pending* in the project that
sent it (app/domain/feedback.py): it is listed and counted like any other, and
attaches when its run arrives in that project. A run with the same id in another
project never adopts it.

The rule for feedback whose run never arrives: it is deleted (as ``deleteFeedback``
deletes: a tombstone, a history entry by ``system`` via ``expiry``) once it is
older than ``PLAUDIT_PENDING_FEEDBACK_TTL`` (7 days by default). A background
loop in every app process looks every ``pending_feedback_sweep_seconds``, taking
at most ``BATCH`` records at a time and ``MAX_BATCHES`` batches a round, oldest
first, through an index of pending records only. Several processes sweeping at
once delete each record once: the delete is conditional on the record still
being pending and live.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app import clock
from app.domain.background import BackgroundLoop
from app.domain.feedback import Change, delete_feedback
from app.errors import NotFound
from app.store import Stores

log = logging.getLogger("plaudit.pending")

BATCH = 500
MAX_BATCHES = 20
EXPIRY = Change(by="system", via="expiry")


async def expire_pending(stores: Stores, now: datetime, ttl: timedelta, batch: int = BATCH) -> int:
    """Delete pending feedback created before ``now - ttl``, at most ``batch``
    records; how many were deleted."""
    expired = await stores.feedback.pending_created_before(now - ttl, batch)
    deleted = 0
    for record in expired:
        try:
            await delete_feedback(stores, record.project_id, record.id, EXPIRY, pending_only=True)
        except NotFound:
            continue  # its run arrived, or someone deleted it, since it was read
        deleted += 1
    return deleted


class PendingFeedbackExpiry:
    """The background loop that applies the rule, for an app's lifetime: its first
    round one interval after start (not in the rush of start-up), then one every
    interval. Started and stopped with the app's other loops
    (app/domain/pipelines.py)."""

    def __init__(self, stores: Stores, ttl_seconds: float, every_seconds: float) -> None:
        self.stores = stores
        self.ttl = timedelta(seconds=ttl_seconds)
        self.background = BackgroundLoop(
            "pending-feedback-expiry",
            self._round,
            every_seconds,
            log=log,
            failure="pending feedback expiry failed (will retry)",
            wait_first=True,
        )

    async def sweep(self) -> int:
        """One round: batches until one is not full (at most MAX_BATCHES)."""
        total = 0
        for _ in range(MAX_BATCHES):
            deleted = await expire_pending(self.stores, clock.now(), self.ttl, BATCH)
            total += deleted
            if deleted < BATCH:
                break
        return total

    def start(self) -> None:
        self.background.start()

    def wake(self) -> None:
        """Look now rather than at the end of the current interval."""
        self.background.wake()

    async def stop(self) -> None:
        await self.background.stop()

    async def _round(self) -> None:
        deleted = await self.sweep()
        if deleted:
            log.info("deleted %d pending feedback records whose run never came", deleted)
