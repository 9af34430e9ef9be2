"""Feedback that arrived before its run, and what happens to it if the run never does.

Both LangSmith SDKs send runs in background batches, so feedback (or a token) for
a run often comes first. Such feedback is recorded *pending* in the project that
sent it (app/domain/feedback.py): it is listed and counted like any other, and
attaches when its run arrives in that project. A run with the same id in another
project never adopts it.

The rule for feedback whose run never arrives: it is deleted (as ``deleteFeedback``
deletes: a tombstone, a history entry by ``system`` via ``expiry``) once it is
older than ``PLAUDIT_PENDING_FEEDBACK_TTL`` (7 days by default). A background
task in every app process looks every ``pending_feedback_sweep_seconds``, taking
at most ``BATCH`` records at a time and ``MAX_BATCHES`` batches a round, oldest
first, through an index of pending records only. Several processes sweeping at
once delete each record once: the delete is conditional on the record still
being pending and live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from app import clock
from app.domain.feedback import Change, delete_feedback
from app.errors import NotFound
from app.store import Stores

log = logging.getLogger("plaudit.pending")

BATCH = 500
MAX_BATCHES = 20
EXPIRY = Change(by="system", via="expiry")


async def expire_pending(
    stores: Stores,
    now: datetime,
    ttl: timedelta,
    batch: int = BATCH,
    stop: asyncio.Event | None = None,
) -> int:
    """Delete pending feedback created before ``now - ttl``, at most ``batch``
    records (fewer once ``stop`` is set); how many were deleted."""
    expired = await stores.feedback.pending_created_before(now - ttl, batch)
    deleted = 0
    for record in expired:
        if stop is not None and stop.is_set():
            break
        try:
            await delete_feedback(stores, record.project_id, record.id, EXPIRY, pending_only=True)
        except NotFound:
            continue  # its run arrived, or someone deleted it, since it was read
        deleted += 1
    return deleted


class PendingFeedbackExpiry:
    """The background task that applies the rule, for an app's lifetime.

    It is stopped by asking, not by cancelling: a cancellation landing inside a
    database call can be lost there (and a connection left half-used), so the loop
    finishes the record it is deleting and returns."""

    def __init__(self, stores: Stores, ttl_seconds: float, every_seconds: float) -> None:
        self.stores = stores
        self.ttl = timedelta(seconds=ttl_seconds)
        self.every_seconds = every_seconds
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def sweep(self) -> int:
        """One round: batches until one is not full (at most MAX_BATCHES)."""
        total = 0
        for _ in range(MAX_BATCHES):
            deleted = await expire_pending(
                self.stores, clock.now(), self.ttl, BATCH, stop=self._stop
            )
            total += deleted
            if deleted < BATCH or self._stop.is_set():
                break
        return total

    def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="pending-feedback-expiry")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            await task

    async def _run(self) -> None:
        # The first round one interval after start: not in the rush of start-up.
        while not await self._stopped_within(self.every_seconds):
            try:
                deleted = await self.sweep()
                if deleted:
                    log.info("deleted %d pending feedback records whose run never came", deleted)
            except Exception as exc:
                log.warning("pending feedback expiry failed (will retry): %s", exc)

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        return self._stop.is_set()
