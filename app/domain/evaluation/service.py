"""Online evaluation for an app's lifetime: the write path's queue (a run observer)
and this process's worker and alert checks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.domain import run_events
from app.domain.autofeedback.llm import LLMClient
from app.domain.background import BackgroundLoop
from app.domain.evaluation.alerts import check_alerts
from app.domain.evaluation.queue import EvaluationQueue
from app.domain.evaluation.worker import EvaluationWorker, WorkerConfig
from app.domain.webhooks.events import WebhookEnqueuer
from app.settings import Settings
from app.store import Stores

log = logging.getLogger("plaudit.evaluation")


@dataclass
class OnlineEvaluation:
    stores: Stores
    queue: EvaluationQueue
    worker: EvaluationWorker
    alerts: BackgroundLoop
    # False: this process queues evaluations but leaves them to other processes.
    work: bool = True

    @classmethod
    def build(
        cls,
        settings: Settings,
        stores: Stores,
        webhooks: WebhookEnqueuer,
        llm: Callable[[], LLMClient],
    ) -> OnlineEvaluation:
        config = WorkerConfig(
            concurrency=settings.evaluation_concurrency,
            poll_seconds=settings.evaluation_poll_seconds,
            lease_seconds=settings.evaluation_lease_seconds,
            retry_base_seconds=settings.evaluation_retry_base_seconds,
            allow_private_networks=settings.webhook_allow_private_networks,
        )
        worker = EvaluationWorker(stores, config, llm, settings.llm_model)
        queue = EvaluationQueue(
            stores,
            cache_seconds=settings.evaluation_rule_cache_seconds,
            on_enqueue=worker.wake,
            on_change=worker.forget_rules,
        )

        async def alerts_step() -> None:
            await check_alerts(stores, webhooks)

        alerts = BackgroundLoop(
            "evaluation-alerts",
            alerts_step,
            settings.evaluation_alert_seconds,
            log=log,
            failure="online evaluation: cannot check alerts now",
            wait_first=True,
        )
        return cls(stores, queue, worker, alerts, work=settings.evaluation_workers)

    async def start(self) -> None:
        run_events.attach(self.stores, self.queue)
        if self.work:
            self.worker.start()
            self.alerts.start()

    async def stop(self) -> None:
        run_events.detach(self.stores, self.queue)
        await self.alerts.stop()
        await self.worker.stop()
