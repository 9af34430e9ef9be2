"""Feedback changes, announced to whoever keeps something derived from feedback.

Every create, update, retraction and delete in app/domain/feedback.py, once stored,
publishes one :class:`FeedbackChanged` here with the record before and after.
Observers (rollups, webhooks, live updates) attach to a :class:`~app.store.Stores`
for the lifetime of an app and detach on shutdown.

An observer must be cheap (it runs on the write path) and must not fail the write:
its exceptions are logged, never raised to the client, whose feedback is already
stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from app.store import Stores
from app.store.feedback import Feedback

log = logging.getLogger("plaudit.events")

CHANGE_KINDS = ("created", "updated", "retracted", "deleted")


@dataclass(frozen=True)
class FeedbackChanged:
    """One change to one feedback record. ``before`` is None on create, ``after``
    is None on delete."""

    kind: str  # created | updated | retracted | deleted
    before: Feedback | None
    after: Feedback | None
    at: datetime
    by: str
    via: str

    @property
    def record(self) -> Feedback:
        record = self.after or self.before
        assert record is not None
        return record


class FeedbackObserver(Protocol):
    async def feedback_changed(self, event: FeedbackChanged) -> None: ...


@runtime_checkable
class AttachObserver(Protocol):
    """An observer that also hears of pending feedback whose run arrived (the
    record is otherwise unchanged: no FeedbackChanged is published for it)."""

    async def feedback_attached(self, records: list[Feedback]) -> None: ...


# Keyed by the identity of the Stores object an app built: tests run several apps
# (each with its own database) in one process.
_observers: dict[int, list[FeedbackObserver]] = {}


def attach(stores: Stores, observer: FeedbackObserver) -> None:
    _observers.setdefault(id(stores), []).append(observer)


def detach(stores: Stores, observer: FeedbackObserver) -> None:
    observers = _observers.get(id(stores), [])
    if observer in observers:
        observers.remove(observer)
    if not observers:
        _observers.pop(id(stores), None)


def observers(stores: Stores) -> list[FeedbackObserver]:
    return list(_observers.get(id(stores), ()))


async def publish(stores: Stores, event: FeedbackChanged) -> None:
    for observer in observers(stores):
        try:
            await observer.feedback_changed(event)
        except Exception:
            log.exception(
                "feedback observer %s failed on %s of %s",
                type(observer).__name__,
                event.kind,
                event.record.id,
            )


async def publish_attached(stores: Stores, records: list[Feedback]) -> None:
    """Pending records just attached to their arrived runs, each exactly once."""
    if not records:
        return
    for observer in observers(stores):
        if not isinstance(observer, AttachObserver):
            continue
        try:
            await observer.feedback_attached(records)
        except Exception:
            log.exception("feedback observer %s failed on attached runs", type(observer).__name__)
