"""What runs beside the feedback write path, for the app's lifetime: rollups
(app/domain/analytics/), webhook deliveries (app/domain/webhooks/), live events
(app/domain/live/) and the expiry of pending feedback (app/domain/pending_feedback.py).

``start`` attaches the write-path observers to the app's Stores and starts the
background tasks; ``stop`` flushes the rollups and stops everything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.domain import feedback_events
from app.domain.analytics import recounts
from app.domain.analytics.rollup_buffer import RollupBuffer
from app.domain.live.hub import LiveHub
from app.domain.pending_feedback import PendingFeedbackExpiry
from app.domain.webhooks.dispatcher import RetryPolicy, WebhookDispatcher
from app.domain.webhooks.events import WebhookEnqueuer
from app.settings import Settings
from app.store import Stores


@dataclass
class FeedbackPipelines:
    stores: Stores
    rollups: RollupBuffer
    webhooks: WebhookEnqueuer
    dispatcher: WebhookDispatcher
    live: LiveHub
    pending_expiry: PendingFeedbackExpiry

    @classmethod
    def build(cls, settings: Settings, stores: Stores) -> FeedbackPipelines:
        dispatcher = WebhookDispatcher(
            stores,
            RetryPolicy(
                max_attempts=settings.webhook_max_attempts,
                base_seconds=settings.webhook_retry_base_seconds,
                max_seconds=settings.webhook_retry_max_seconds,
                timeout_seconds=settings.webhook_timeout_seconds,
                retention=timedelta(days=settings.webhook_retention_days),
            ),
            poll_seconds=settings.webhook_poll_seconds,
            allow_private_networks=settings.webhook_allow_private_networks,
        )
        return cls(
            stores=stores,
            rollups=RollupBuffer(
                stores, stores.feedback_rollups, flush_seconds=settings.rollup_flush_seconds
            ),
            webhooks=WebhookEnqueuer(stores, on_enqueue=dispatcher.wake),
            dispatcher=dispatcher,
            live=LiveHub(stores, use_change_streams=settings.live_source != "in_process"),
            pending_expiry=PendingFeedbackExpiry(
                stores, settings.pending_feedback_ttl, settings.pending_feedback_sweep_seconds
            ),
        )

    async def start(self) -> None:
        feedback_events.attach(self.stores, self.rollups)
        feedback_events.attach(self.stores, self.webhooks)
        self.rollups.start()
        self.dispatcher.start()
        await self.live.start()
        self.pending_expiry.start()

    async def stop(self) -> None:
        await self.pending_expiry.stop()
        feedback_events.detach(self.stores, self.webhooks)
        feedback_events.detach(self.stores, self.rollups)
        await self.live.stop()
        await self.dispatcher.stop()
        await self.rollups.stop()
        await recounts.stop()
