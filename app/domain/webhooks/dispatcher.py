"""The background task that POSTs queued webhook deliveries.

Started by the app's lifespan. It claims due deliveries from MongoDB (several at
a time, each with a lease so a crashed process's claims are taken over), POSTs
them with a timeout, and records each attempt. A failed attempt (no answer, or a
non-2xx status) is retried after ``base * 2**(attempt-1)`` seconds (capped, with
jitter), until ``max_attempts``; then the delivery is ``failed``. Redirects are
not followed. A restart loses nothing: the queue is in MongoDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx

from app import clock
from app.domain.background import BackgroundLoop, cancel_and_wait
from app.domain.webhooks.destinations import DestinationNotAllowed, check_resolved
from app.domain.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from app.store import Stores
from app.store.webhook_deliveries import Attempt, Delivery
from app.store.webhooks import Webhook

log = logging.getLogger("plaudit.webhooks")

USER_AGENT = "Plaudit-Webhooks/1"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_seconds: float = 30.0
    max_seconds: float = 6 * 3600.0
    timeout_seconds: float = 10.0
    # How long a delivered or failed delivery (and its log) is kept.
    retention: timedelta = timedelta(days=30)

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        raw = min(self.max_seconds, self.base_seconds * 2.0 ** (attempts - 1))
        return float(raw * random.uniform(0.8, 1.0))


class WebhookDispatcher:
    def __init__(
        self,
        stores: Stores,
        policy: RetryPolicy,
        *,
        poll_seconds: float = 1.0,
        concurrency: int = 8,
        allow_private_networks: bool = False,
    ) -> None:
        self.stores = stores
        self.allow_private_networks = allow_private_networks
        self.policy = policy
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency
        self.background = BackgroundLoop(
            "webhook-dispatcher",
            self._claim_and_send,
            poll_seconds,
            log=log,
            failure="webhook dispatcher",
        )
        self._inflight: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.policy.timeout_seconds + 30)

    def wake(self) -> None:
        self.background.wake()

    def start(self) -> None:
        if not self.background.running:
            self._client = httpx.AsyncClient(
                timeout=self.policy.timeout_seconds,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
            self.background.start()

    async def stop(self) -> None:
        await self.background.stop()
        await cancel_and_wait(self._inflight)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _claim_and_send(self) -> None:
        while len(self._inflight) < self.concurrency:
            delivery = await self.stores.webhook_deliveries.claim(clock.now(), self.lease)
            if delivery is None:
                return
            task = asyncio.create_task(self._deliver(delivery))
            self._inflight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self.background.wake()  # a slot is free: look for more

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._attempt(delivery)
        except asyncio.CancelledError:
            # Stopping: hand the claim back so the next process need not wait
            # for the lease to run out.
            with contextlib.suppress(Exception):
                await self.stores.webhook_deliveries.release(delivery.id, clock.now())
            raise
        except Exception:
            log.exception("webhook delivery %s", delivery.id)

    async def _refusal(self, webhook: Webhook | None) -> str | None:
        """Why no delivery to this webhook can be made at all, or None."""
        if webhook is None:
            return "the webhook was deleted"
        if not self.allow_private_networks:
            try:
                await check_resolved(webhook.url)
            except DestinationNotAllowed as exc:
                return str(exc)
        return None

    async def _attempt(self, delivery: Delivery) -> None:
        assert self._client is not None
        store = self.stores.webhook_deliveries
        webhook = await self.stores.webhooks.get(delivery.project_id, delivery.webhook_id)
        started = clock.now()
        keep_until = started + self.policy.retention  # once it is finished
        refused = await self._refusal(webhook)
        if webhook is None or refused is not None:
            # Nothing a retry would change: failed for good.
            await store.finish_attempt(
                delivery.id,
                Attempt(started, None, refused, 0.0),
                status="failed",
                keep_until=keep_until,
            )
            return
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(webhook.secret, body),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: delivery.id,
        }
        sent = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(webhook.url, content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempt = Attempt(started, status_code, error, (time.perf_counter() - sent) * 1000)
        attempts = delivery.attempts + 1
        if error is None:
            await store.finish_attempt(
                delivery.id, attempt, status="delivered", keep_until=keep_until
            )
        elif attempts >= self.policy.max_attempts:
            log.warning("webhook delivery %s failed for good: %s", delivery.id, error)
            await store.finish_attempt(delivery.id, attempt, status="failed", keep_until=keep_until)
        else:
            next_at = clock.now() + timedelta(seconds=self.policy.delay(attempts))
            await store.finish_attempt(delivery.id, attempt, status="pending", next_at=next_at)
