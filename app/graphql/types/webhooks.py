from __future__ import annotations

import json
from datetime import datetime
from enum import Enum

import strawberry

from app.graphql.scalars import JSON
from app.store.webhook_deliveries import Attempt, Delivery
from app.store.webhooks import Webhook as WebhookRecord


@strawberry.enum(
    description=(
        "A change to feedback (live events and webhooks). EVALUATION_ALERT: an online "
        "evaluation rule's alert fired or resolved (webhooks only, when asked for)."
    )
)
class FeedbackEventKind(Enum):
    CREATED = "created"
    UPDATED = "updated"
    RETRACTED = "retracted"
    DELETED = "deleted"
    EVALUATION_ALERT = "evaluation_alert"


@strawberry.enum
class DeliveryStatus(Enum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


@strawberry.type(description="Where feedback events are POSTed, signed with the secret.")
class Webhook:
    id: strawberry.ID
    url: str
    events: list[FeedbackEventKind]
    description: str | None
    secret_prefix: str = strawberry.field(description="The secret's first characters.")
    created_at: datetime

    @classmethod
    def from_record(cls, record: WebhookRecord) -> Webhook:
        return cls(
            id=strawberry.ID(record.id),
            url=record.url,
            events=[FeedbackEventKind(e) for e in record.events],
            description=record.description,
            secret_prefix=record.secret_prefix,
            created_at=record.created_at,
        )


@strawberry.type
class CreatedWebhook:
    webhook: Webhook
    secret: str = strawberry.field(
        description="The signing secret, shown this once: store it with the receiver."
    )


@strawberry.type
class WebhookAttempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float

    @classmethod
    def from_record(cls, a: Attempt) -> WebhookAttempt:
        return cls(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)


@strawberry.type(description="One event for one webhook, and every attempt to deliver it.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    event_id: strawberry.ID
    event: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    payload: JSON
    log: list[WebhookAttempt]

    @classmethod
    def from_record(cls, d: Delivery) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(d.id),
            webhook_id=strawberry.ID(d.webhook_id),
            event_id=strawberry.ID(d.event_id),
            event=d.event,
            status=DeliveryStatus(d.status),
            attempts=d.attempts,
            next_attempt_at=d.next_at if d.status == "pending" else None,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            payload=json.loads(d.body),
            log=[WebhookAttempt.from_record(a) for a in d.log],
        )
