"""Webhooks against a local HTTP receiver: signing, retries with backoff, giving up,
redelivery, surviving a restart, never slowing ingestion, and permissions."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.domain.webhooks.signing import verify
from app.main import create_app
from app.settings import Settings
from tests.conftest import GraphQLClient, Keys, make_project
from tests.pipelines_support import eventually, free_port, make_runs

SECRET = "whsec_test_secret_0123456789"
CREATE_HOOK = """mutation($url: String!, $events: [FeedbackEventKind!], $secret: String) {
  createWebhook(url: $url, events: $events, secret: $secret) {
    secret webhook { id url events secretPrefix }
  }
}"""
DELIVERIES = """query($webhookId: ID, $status: DeliveryStatus) {
  webhookDeliveries(webhookId: $webhookId, status: $status, first: 50) {
    nodes { id event status attempts nextAttemptAt payload log { statusCode error } }
  }
}"""
FEEDBACK = """mutation($input: FeedbackInput!) { createFeedback(input: $input) { id } }"""


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP endpoint that records POSTs and answers with ``statuses`` in
    turn (then 200); with ``gate`` set it holds each request until the gate opens."""

    port: int = field(default_factory=free_port)
    statuses: list[int] = field(default_factory=list)
    gate: threading.Event | None = None
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.gate is not None:
                    receiver.gate.wait(60)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append(Received(dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    if running.gate is not None:
        running.gate.set()
    running.stop()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings,
        webhook_retry_base_seconds=0.05,
        webhook_poll_seconds=0.05,
        webhook_max_attempts=3,
        webhook_timeout_seconds=5,
        webhook_allow_private_networks=True,  # the receiver is on 127.0.0.1
    )


async def hook(gql: GraphQLClient, url: str, **variables: Any) -> dict[str, Any]:
    data = await gql.ok(CREATE_HOOK, {"url": url, "secret": SECRET, **variables})
    created: dict[str, Any] = data["createWebhook"]
    return created


async def feedback(gql: GraphQLClient, keys: Keys, run: str, score: Any = True) -> str:
    data = await gql.as_key(keys.ingest).ok(
        FEEDBACK, {"input": {"runId": run, "key": "thumbs", "score": score}}
    )
    return str(data["createFeedback"]["id"])


async def deliveries(gql: GraphQLClient, **variables: Any) -> list[dict[str, Any]]:
    data = await gql.ok(DELIVERIES, variables)
    nodes: list[dict[str, Any]] = data["webhookDeliveries"]["nodes"]
    return nodes


async def sole_delivery(gql: GraphQLClient, status: str) -> dict[str, Any]:
    """Wait until the project's one delivery has ``status``; return it."""

    async def reached() -> bool:
        return [d["status"] for d in await deliveries(gql)] == [status]

    await eventually(reached)
    [delivery] = await deliveries(gql)
    return delivery


async def test_deliveries_are_signed(
    app: Starlette, gql: GraphQLClient, keys: Keys, receiver: Receiver
) -> None:
    created = await hook(gql, receiver.url)
    assert created["secret"] == SECRET
    assert created["webhook"]["secretPrefix"] == SECRET[:6]
    assert created["webhook"]["events"] == ["CREATED", "UPDATED", "RETRACTED", "DELETED"]
    [run] = await make_runs(app, keys.project_id, 1)
    feedback_id = await feedback(gql, keys, run)

    async def arrived() -> bool:
        return len(receiver.received) == 1

    await eventually(arrived)
    [request] = receiver.received
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Plaudit-Event"] == "feedback.created"
    # The signature, checked by hand: HMAC-SHA256(secret, "<t>.<body>").
    parts = dict(p.split("=", 1) for p in request.headers["Plaudit-Signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), parts["t"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert verify(SECRET, request.headers["Plaudit-Signature"], request.body)
    assert not verify(SECRET, request.headers["Plaudit-Signature"], request.body + b" ")
    assert not verify("another secret entirely", request.headers["Plaudit-Signature"], request.body)
    assert not verify(
        SECRET, request.headers["Plaudit-Signature"], request.body, now=int(parts["t"]) + 3600
    )
    body = request.json
    assert body["type"] == "feedback.created"
    assert body["project_id"] == keys.project_id
    assert body["data"]["feedback"]["id"] == feedback_id
    assert body["data"]["feedback"]["score"] is True
    assert body["data"]["previous"] is None

    async def logged() -> bool:
        return [d["status"] for d in await deliveries(gql)] == ["DELIVERED"]

    await eventually(logged)
    [delivery] = await deliveries(gql)
    assert delivery["id"] == request.headers["Plaudit-Delivery"]
    assert delivery["payload"] == body
    assert delivery["log"] == [{"statusCode": 200, "error": None}]


async def test_failures_are_retried_until_delivered(
    app: Starlette, gql: GraphQLClient, keys: Keys, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    created = await hook(gql, receiver.url)
    [run] = await make_runs(app, keys.project_id, 1)
    await feedback(gql, keys, run)

    async def delivered() -> bool:
        nodes = await deliveries(gql, webhookId=created["webhook"]["id"])
        return bool(nodes) and nodes[0]["status"] == "DELIVERED"

    await eventually(delivered)
    [delivery] = await deliveries(gql)
    assert delivery["attempts"] == 3
    assert [a["statusCode"] for a in delivery["log"]] == [500, 503, 200]
    assert [a["error"] for a in delivery["log"]] == ["HTTP 500", "HTTP 503", None]
    # The receiver got the same body each time.
    assert len({r.body for r in receiver.received}) == 1


async def test_gives_up_after_the_last_attempt_and_redelivers_on_request(
    app: Starlette, gql: GraphQLClient, keys: Keys, receiver: Receiver
) -> None:
    receiver.statuses = [500, 500, 500]
    await hook(gql, receiver.url)
    [run] = await make_runs(app, keys.project_id, 1)
    await feedback(gql, keys, run)
    delivery = await sole_delivery(gql, "FAILED")
    assert delivery["attempts"] == 3 and delivery["nextAttemptAt"] is None
    redelivered = await gql.ok(
        "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { status } }",
        {"id": delivery["id"]},
    )
    assert redelivered["redeliverWebhook"]["status"] == "PENDING"

    async def delivered() -> bool:
        return [d["status"] for d in await deliveries(gql)] == ["DELIVERED"]

    await eventually(delivered)
    assert [r.json["data"]["feedback"]["id"] for r in receiver.received][-1] == (
        delivery["payload"]["data"]["feedback"]["id"]
    )


async def test_the_queue_survives_a_restart(settings: Settings, sync_db: Any) -> None:
    """Deliveries queued while the endpoint is down are sent by the next process,
    including one a crashed process had claimed (its lease runs out)."""
    settings = replace(settings, webhook_max_attempts=10)
    down = Receiver()  # not started: nothing listens on its port yet
    first = create_app(settings)
    async with first.router.lifespan_context(first), client_for(first) as http:
        keys = await make_project(first, "acme")
        gql = GraphQLClient(http, keys.admin)
        created = await hook(gql, down.url)
        [run] = await make_runs(first, keys.project_id, 1)
        pending_id = await feedback(gql, keys, run)

        async def tried() -> bool:
            nodes = await deliveries(gql)
            return bool(nodes) and nodes[0]["attempts"] >= 1

        await eventually(tried)
        [delivery] = await deliveries(gql)
        assert delivery["status"] in ("PENDING", "SENDING")
        assert "ConnectError" in delivery["log"][0]["error"]
    # The first process has stopped. Meanwhile another one crashed mid-delivery.
    now = datetime.now(UTC)
    sync_db.webhook_deliveries.insert_one(
        {
            "_id": str(uuid.uuid4()),
            "project_id": keys.project_id,
            "webhook_id": created["webhook"]["id"],
            "event_id": str(uuid.uuid4()),
            "event": "feedback.updated",
            "body": json.dumps({"type": "feedback.updated", "orphan": True}),
            "status": "sending",
            "attempts": 0,
            "log": [],
            "next_at": now - timedelta(seconds=1),  # its lease ended a second ago
            "created_at": now,
        }
    )
    receiver = down.start()  # the endpoint comes back, and a new process starts
    try:
        second = create_app(settings)
        async with second.router.lifespan_context(second), client_for(second) as http:
            gql = GraphQLClient(http, keys.admin)

            async def all_delivered() -> bool:
                nodes = await deliveries(gql)
                return len(nodes) == 2 and {d["status"] for d in nodes} == {"DELIVERED"}

            await eventually(all_delivered)
        bodies = [r.json for r in receiver.received]
        assert {"type": "feedback.updated", "orphan": True} in bodies
        assert pending_id in [b.get("data", {}).get("feedback", {}).get("id") for b in bodies]
    finally:
        receiver.stop()


def client_for(application: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_a_stuck_endpoint_never_slows_ingestion(
    app: Starlette, gql: GraphQLClient, keys: Keys, receiver: Receiver
) -> None:
    receiver.gate = threading.Event()  # the endpoint holds every request
    await hook(gql, receiver.url)
    runs = await make_runs(app, keys.project_id, 3)
    # Were deliveries made on the write path, these would wait for the gate.
    written = {await feedback(gql, keys, run) for run in runs}
    assert len(written) == 3
    assert receiver.received == []
    receiver.gate.set()

    async def all_arrived() -> bool:
        return len(receiver.received) == 3

    await eventually(all_arrived)
    assert {r.json["data"]["feedback"]["id"] for r in receiver.received} == written


async def test_only_chosen_events_are_sent(
    app: Starlette, gql: GraphQLClient, keys: Keys, receiver: Receiver
) -> None:
    await hook(gql, receiver.url, events=["DELETED"])
    [run] = await make_runs(app, keys.project_id, 1)
    kept = await feedback(gql, keys, run)
    gone = await feedback(gql, keys, run, False)
    await gql.ok("mutation($id: ID!) { deleteFeedback(id: $id) }", {"id": gone})

    async def arrived() -> bool:
        return len(receiver.received) == 1

    await eventually(arrived)
    [request] = receiver.received
    assert request.json["type"] == "feedback.deleted"
    assert request.json["data"]["feedback"]["id"] == gone != kept
    assert len(await deliveries(gql)) == 1


async def test_bad_webhooks_are_refused(gql: GraphQLClient) -> None:
    cases = [
        ({"url": "ftp://example.com/hook"}, "http"),
        ({"url": "javascript:alert(1)"}, "http"),
        ({"url": "https://"}, "host"),
        ({"url": "https://user:pw@example.com/"}, "credentials"),
        ({"url": "https://example.com:99999/"}, "valid URL"),
        ({"url": "https://example.com/", "secret": "short"}, "secret"),
        ({"url": "https://example.com/", "events": []}, "events"),
        ({"url": "https://example.com/a b"}, "spaces"),
    ]
    for variables, words in cases:
        error = await gql.error(CREATE_HOOK, {"secret": SECRET, **variables})
        assert error["extensions"]["code"] == "BAD_REQUEST", error
        assert words in error["message"], error["message"]


async def test_webhooks_belong_to_their_project(
    app: Starlette, gql: GraphQLClient, keys: Keys, other_keys: Keys, receiver: Receiver
) -> None:
    created = await hook(gql, receiver.url)
    hook_id = created["webhook"]["id"]
    generated = await gql.ok(
        "mutation($url: String!) { createWebhook(url: $url) { secret } }",
        {"url": receiver.url + "?second"},
    )
    assert generated["createWebhook"]["secret"].startswith("whsec_")
    assert len(generated["createWebhook"]["secret"]) > 32

    read_only = await gql.as_key(keys.read).error(CREATE_HOOK, {"url": receiver.url})
    assert read_only["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.as_key(keys.read).error("{ webhooks { id } }"))["extensions"][
        "code"
    ] == "FORBIDDEN"

    other = gql.as_key(other_keys.admin)
    assert (await other.ok("{ webhooks { id } }"))["webhooks"] == []
    missing = await other.error("mutation($id: ID!) { deleteWebhook(id: $id) }", {"id": hook_id})
    assert missing["extensions"]["code"] == "NOT_FOUND"

    [run] = await make_runs(app, keys.project_id, 1)
    await feedback(gql, keys, run)

    async def logged() -> bool:
        return len(await deliveries(gql)) == 2  # one per webhook

    await eventually(logged)
    assert await deliveries(other) == []
    [theirs] = await make_runs(app, other_keys.project_id, 1)
    await feedback(other, other_keys, theirs)  # no webhook of theirs: nothing queued
    assert await deliveries(other) == []

    await gql.ok("mutation($id: ID!) { deleteWebhook(id: $id) }", {"id": hook_id})
    assert [w["id"] for w in (await gql.ok("{ webhooks { id } }"))["webhooks"]] != [hook_id]
