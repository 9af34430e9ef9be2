"""From a feedback change to queued webhook deliveries (on the write path).

Enqueuing is one ``insert_many`` into the delivery queue, and only when the
project has a webhook for that kind of change; the POST itself happens later, in
the dispatcher, so a slow or failing endpoint never slows feedback ingestion."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cachetools import TTLCache

from app.domain.feedback_events import FeedbackChanged
from app.store import Stores
from app.store.feedback import Feedback
from app.store.webhooks import Webhook


def feedback_json(record: Feedback) -> dict[str, Any]:
    return {
        "id": record.id,
        "run_id": record.run_id,
        "key": record.key,
        "score": record.score,
        "value": record.value,
        "comment": record.comment,
        "correction": record.correction,
        "source_type": record.source_type,
        "user_id": record.user_id,
        "retracted": record.retracted,
        "created_at": record.created_at.isoformat(),
        "modified_at": record.modified_at.isoformat(),
    }


def payload(event: FeedbackChanged, event_id: str) -> dict[str, Any]:
    """The JSON body every webhook receives for this change."""
    record = event.record
    return {
        "id": event_id,
        "type": f"feedback.{event.kind}",
        "created_at": event.at.isoformat(),
        "project_id": record.project_id,
        "data": {
            "feedback": feedback_json(record),
            "previous": event.before.content() if event.before and event.after else None,
        },
    }


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class WebhookEnqueuer:
    """A feedback observer that queues one delivery per subscribed webhook."""

    def __init__(
        self, stores: Stores, *, cache_seconds: float = 5.0, on_enqueue: Callable[[], None]
    ) -> None:
        self.stores = stores
        self.on_enqueue = on_enqueue
        self._cache: TTLCache[str, list[Webhook]] = TTLCache(maxsize=10_000, ttl=cache_seconds)

    def forget(self, project_id: str) -> None:
        """Drop the cached webhook list (after a webhook is created or deleted)."""
        self._cache.pop(project_id, None)

    async def _webhooks(self, project_id: str) -> list[Webhook]:
        try:
            return self._cache[project_id]
        except KeyError:
            webhooks = await self.stores.webhooks.list(project_id)
            self._cache[project_id] = webhooks
            return webhooks

    async def feedback_changed(self, event: FeedbackChanged) -> None:
        record = event.record
        await self._enqueue(
            record.project_id,
            event.kind,
            f"feedback.{event.kind}",
            event.at,
            lambda event_id: payload(event, event_id),
        )

    async def enqueue_event(
        self, project_id: str, kind: str, event_type: str, at: datetime, data: dict[str, Any]
    ) -> None:
        """Queue an event that is not a feedback change (an evaluation alert) for the
        project's webhooks subscribed to ``kind``."""
        await self._enqueue(
            project_id,
            kind,
            event_type,
            at,
            lambda event_id: {
                "id": event_id,
                "type": event_type,
                "created_at": at.isoformat(),
                "project_id": project_id,
                "data": data,
            },
        )

    async def _enqueue(
        self,
        project_id: str,
        kind: str,
        event_type: str,
        at: datetime,
        body: Callable[[str], dict[str, Any]],
    ) -> None:
        targets = [w for w in await self._webhooks(project_id) if kind in w.events]
        if not targets:
            return
        event_id = str(uuid.uuid4())
        text = json.dumps(body(event_id), separators=(",", ":"), default=_iso)
        await self.stores.webhook_deliveries.enqueue(
            [
                {
                    "_id": str(uuid.uuid4()),
                    "project_id": project_id,
                    "webhook_id": webhook.id,
                    "event_id": event_id,
                    "event": event_type,
                    "body": text,
                    "next_at": at,
                    "created_at": at,
                }
                for webhook in targets
            ]
        )
        self.on_enqueue()
