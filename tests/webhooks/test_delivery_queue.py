"""The delivery queue: each due delivery goes to one sender, even when many claim
at once, oldest first; an expired lease makes it claimable again; finished
deliveries are kept for the retention period, then removed by a TTL index.

The store alone, without the app: the app's own dispatcher would claim the due
deliveries these tests queue (it did, once, on a loaded machine)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.store.client import make_client, open_stores
from app.store.webhook_deliveries import Attempt, WebhookDeliveryStore


@pytest.fixture
async def store(mongo_uri: str, db_name: str) -> AsyncIterator[WebhookDeliveryStore]:
    client = make_client(mongo_uri)
    try:
        stores = await open_stores(client, db_name)
        yield stores.webhook_deliveries
        await client.drop_database(db_name)
    finally:
        await client.close()


def delivery(due: datetime) -> dict[str, object]:
    return {
        "_id": str(uuid.uuid4()),
        "project_id": "p",
        "webhook_id": "w",
        "event_id": str(uuid.uuid4()),
        "event": "feedback.created",
        "body": "{}",
        "next_at": due,
        "created_at": due,
    }


async def test_each_due_delivery_is_claimed_once(store: WebhookDeliveryStore) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    queued = [delivery(now - timedelta(seconds=s)) for s in range(5)]
    await store.enqueue([*queued, delivery(now + timedelta(hours=1))])  # one not due
    lease = timedelta(seconds=60)
    claims = await asyncio.gather(*(store.claim(now, lease) for _ in range(12)))
    taken = [c for c in claims if c is not None]
    assert sorted(c.id for c in taken) == sorted(str(d["_id"]) for d in queued)
    assert all(c.status == "sending" and c.next_at == now + lease for c in taken)
    assert await store.claim(now, lease) is None
    # A sender that died holds its claims until the lease ends; then they are due.
    later = await store.claim(now + lease + timedelta(seconds=1), lease)
    assert later is not None and later.id in {c.id for c in taken}


async def test_the_oldest_due_delivery_comes_first(store: WebhookDeliveryStore) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    old, new = delivery(now - timedelta(minutes=5)), delivery(now - timedelta(minutes=1))
    await store.enqueue([new, old])
    first = await store.claim(now, timedelta(seconds=60))
    assert first is not None and first.id == old["_id"]


async def test_finished_deliveries_expire_unless_sent_again(store: WebhookDeliveryStore) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    queued = delivery(now)
    await store.enqueue([queued])
    assert await store.claim(now, timedelta(seconds=60)) is not None
    keep_until = now + timedelta(days=30)
    attempt = Attempt(now, 500, "HTTP 500", 3.0)
    await store.finish_attempt(str(queued["_id"]), attempt, status="failed", keep_until=keep_until)
    stored = await store.collection.find_one({"_id": queued["_id"]})
    assert stored is not None and stored["status"] == "failed"
    assert stored["expire_at"] == keep_until
    indexes = (await store.collection.index_information()).values()
    assert any(i["key"] == [("expire_at", 1)] and i["expireAfterSeconds"] == 0 for i in indexes)
    again = await store.retry_now("p", str(queued["_id"]), now)
    assert again is not None and again.status == "pending"
    stored = await store.collection.find_one({"_id": queued["_id"]})
    assert stored is not None and "expire_at" not in stored  # queued again: kept
