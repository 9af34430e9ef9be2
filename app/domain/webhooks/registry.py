"""Webhook rules (which URLs, which events, which secret), and the writes: creating and
deleting a webhook, sending a delivery again."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from app import clock
from app.domain import validation as v
from app.domain.webhooks.destinations import check_host
from app.domain.webhooks.dispatcher import WebhookDispatcher
from app.domain.webhooks.events import WebhookEnqueuer
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.webhook_deliveries import Delivery
from app.store.webhooks import Webhook

EVENT_KINDS = ("created", "updated", "retracted", "deleted")
# Events a webhook receives only when it asks for them (events left out: feedback's).
OPT_IN_KINDS = ("evaluation_alert",)
MAX_URL_CHARS = 2000
MAX_WEBHOOKS_PER_PROJECT = 20
MIN_SECRET_CHARS = 16
SECRET_PREFIX = "whsec_"


def check_url(url: str, *, allow_private_networks: bool = False) -> str:
    url = url.strip()
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise BadRequest("url must not contain spaces or control characters", field="url")
    if len(url) > MAX_URL_CHARS:
        raise BadRequest(f"url is longer than {MAX_URL_CHARS} characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        raise BadRequest(f"url is not a valid URL: {url[:100]!r}", field="url") from None
    if parts.scheme not in ("http", "https"):
        raise BadRequest("url must be an http:// or https:// URL", field="url")
    if not parts.hostname:
        raise BadRequest("url has no host", field="url")
    if parts.username or parts.password:
        raise BadRequest("url must not carry credentials; the signature authenticates", field="url")
    if parts.fragment:
        raise BadRequest("url must not have a #fragment", field="url")
    del port
    if not allow_private_networks:
        check_host(parts.hostname)
    return url


def check_events(events: list[str] | None) -> list[str]:
    if events is None:
        return list(EVENT_KINDS)
    if not events:
        raise BadRequest("events: give at least one event (or leave it out for all)")
    known = (*EVENT_KINDS, *OPT_IN_KINDS)
    unknown = [e for e in events if e not in known]
    if unknown:
        raise BadRequest(f"unknown events {unknown}; events are {', '.join(known)}")
    return [e for e in known if e in events]


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def create_webhook(
    stores: Stores,
    enqueuer: WebhookEnqueuer,
    project_id: str,
    url: str,
    events: list[str] | None,
    secret: str | None,
    description: str | None,
    *,
    allow_private_networks: bool = False,
) -> Webhook:
    """Register a webhook. Without a secret one is generated; either way the
    caller sees it once, in the reply. This process's ``enqueuer`` sees the new
    webhook at once (others within its cache time)."""
    url = check_url(url, allow_private_networks=allow_private_networks)
    chosen = check_events(events)
    if secret is None:
        secret = new_secret()
    elif not MIN_SECRET_CHARS <= len(secret) <= 200:
        raise BadRequest(
            f"secret must be {MIN_SECRET_CHARS} to 200 characters long", field="secret"
        )
    v.check_text(description, "description", 500)
    if len(await stores.webhooks.list(project_id)) >= MAX_WEBHOOKS_PER_PROJECT:
        raise BadRequest(f"a project can have at most {MAX_WEBHOOKS_PER_PROJECT} webhooks")
    webhook = await stores.webhooks.create(project_id, url, chosen, secret, description)
    enqueuer.forget(project_id)
    return webhook


async def delete_webhook(
    stores: Stores, enqueuer: WebhookEnqueuer, project_id: str, webhook_id: str
) -> None:
    """Delete a webhook and its delivery log."""
    webhook_id = v.check_uuid(webhook_id, "id")
    if not await stores.webhooks.delete(project_id, webhook_id):
        raise NotFound(f"webhook {webhook_id} not found")
    await stores.webhook_deliveries.delete_for_webhook(project_id, webhook_id)
    enqueuer.forget(project_id)


async def redeliver(
    stores: Stores, dispatcher: WebhookDispatcher, project_id: str, delivery_id: str
) -> Delivery:
    """Queue a delivered or failed delivery again, due now, and wake the dispatcher."""
    delivery_id = v.check_uuid(delivery_id, "deliveryId")
    record = await stores.webhook_deliveries.retry_now(project_id, delivery_id, clock.now())
    if record is None:
        raise NotFound(f"no delivered or failed delivery {delivery_id}")
    dispatcher.wake()
    return record
