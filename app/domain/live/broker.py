"""In-process fan-out of feedback events to subscribers, per project."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from app.errors import Unavailable
from app.store.feedback import Feedback

EVENT_KINDS = ("created", "updated", "retracted", "deleted")


@dataclass(frozen=True)
class LiveEvent:
    kind: str  # created | updated | retracted | deleted
    feedback: Feedback
    at: datetime


class SubscriberTooSlow(Unavailable):
    """A subscriber fell too far behind; it is ended and should resubscribe."""


@dataclass(eq=False)
class Subscriber:
    project_id: str
    keys: frozenset[str] | None
    run_ids: frozenset[str] | None
    queue: asyncio.Queue[LiveEvent | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def wants(self, event: LiveEvent) -> bool:
        record = event.feedback
        return (
            record.project_id == self.project_id
            and (self.keys is None or record.key in self.keys)
            and (self.run_ids is None or record.run_id in self.run_ids)
        )


class LiveBroker:
    def __init__(self, max_queue: int = 1000) -> None:
        self.max_queue = max_queue
        self._subscribers: dict[str, set[Subscriber]] = {}

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    def subscribe(
        self, project_id: str, keys: list[str] | None, run_ids: list[str] | None
    ) -> Subscriber:
        subscriber = Subscriber(
            project_id=project_id,
            keys=frozenset(keys) if keys is not None else None,
            run_ids=frozenset(run_ids) if run_ids is not None else None,
        )
        self._subscribers.setdefault(project_id, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.project_id)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[subscriber.project_id]

    def publish(self, event: LiveEvent) -> None:
        for subscriber in list(self._subscribers.get(event.feedback.project_id, ())):
            if subscriber.overflowed or not subscriber.wants(event):
                continue
            if subscriber.queue.qsize() >= self.max_queue:
                # Better to end a subscription than to skip events silently.
                subscriber.overflowed = True
                subscriber.queue.put_nowait(None)
                continue
            subscriber.queue.put_nowait(event)

    async def events(self, subscriber: Subscriber) -> AsyncIterator[LiveEvent]:
        while True:
            event = await subscriber.queue.get()
            if event is None:
                raise SubscriberTooSlow(
                    f"more than {self.max_queue} events were waiting; subscribe again"
                )
            yield event
