"""All database access. One store class per collection; nothing here knows HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store.api_keys import ApiKeyStore
from app.store.feedback import FeedbackStore
from app.store.feedback_analytics import FeedbackAnalyticsStore
from app.store.feedback_history import FeedbackHistoryStore
from app.store.feedback_keys import FeedbackKeyStore
from app.store.feedback_rollups import FeedbackRollupStore
from app.store.projects import ProjectStore
from app.store.runs import RunStore
from app.store.webhook_deliveries import WebhookDeliveryStore
from app.store.webhooks import WebhookStore


@dataclass(frozen=True)
class Stores:
    db: AsyncDatabase[dict[str, Any]]
    projects: ProjectStore
    api_keys: ApiKeyStore
    runs: RunStore
    feedback_rollups: FeedbackRollupStore
    feedback_analytics: FeedbackAnalyticsStore
    webhooks: WebhookStore
    webhook_deliveries: WebhookDeliveryStore
    feedback: FeedbackStore
    feedback_history: FeedbackHistoryStore
    feedback_keys: FeedbackKeyStore

    @classmethod
    def open(cls, db: AsyncDatabase[dict[str, Any]]) -> Stores:
        return cls(
            db=db,
            projects=ProjectStore(db),
            api_keys=ApiKeyStore(db),
            runs=RunStore(db),
            feedback_rollups=FeedbackRollupStore(db),
            feedback_analytics=FeedbackAnalyticsStore(db),
            webhooks=WebhookStore(db),
            webhook_deliveries=WebhookDeliveryStore(db),
            feedback=FeedbackStore(db),
            feedback_history=FeedbackHistoryStore(db),
            feedback_keys=FeedbackKeyStore(db),
        )
