"""Helpers for the WebSocket tests: projects with keys, runs, and a
graphql-transport-ws client over the `websockets` library."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from app.domain.auth import create_key
from app.domain.runs import RunWrite, ingest_runs
from app.store import Stores
from tests.conftest import Keys
from tests.pipelines_support import LiveServer

SUBSCRIBE = """subscription($keys: [String!], $runIds: [ID!]) {
  feedbackEvents(keys: $keys, runIds: $runIds) {
    kind at feedback { id runId key score comment retracted }
  }
}"""
CREATE = """mutation($input: FeedbackInput!) { createFeedback(input: $input) { id } }"""


async def project(stores: Stores, name: str) -> Keys:
    record = await stores.projects.create(name)
    secrets = {
        role: (await create_key(stores, record.id, role))[1] for role in ("admin", "ingest", "read")
    }
    return Keys(project_id=record.id, **secrets)


async def runs(stores: Stores, project_id: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    await ingest_runs(stores, project_id, [RunWrite(id=i) for i in ids])
    return ids


async def open_socket(
    server: LiveServer, key: str | None, *, in_header: bool = False
) -> ClientConnection:
    """A graphql-transport-ws connection, acknowledged; the key in the
    connection_init payload, or in the upgrade request's header."""
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    ws = await connect(
        server.ws_url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers=auth if in_header else None,
    )
    payload = {} if in_header else auth
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    return ws


async def send_operation(
    ws: ClientConnection, id: str, query: str, variables: dict[str, Any] | None = None
) -> None:
    payload = {"query": query, "variables": variables or {}}
    await ws.send(json.dumps({"id": id, "type": "subscribe", "payload": payload}))


async def open_subscription(
    server: LiveServer, key: str | None, variables: dict[str, Any] | None = None
) -> ClientConnection:
    ws = await open_socket(server, key)
    await send_operation(ws, "1", SUBSCRIBE, variables)
    return ws


async def graphql(server: LiveServer, key: str, query: str, variables: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {key}"},
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def first_message(
    ws: ClientConnection, write: Callable[[], Awaitable[str]]
) -> tuple[dict[str, Any], set[str]]:
    """Write until the subscriber hears something: the server registers a
    subscription a moment after the subscribe message, and nothing says when."""
    written: set[str] = set()
    for _ in range(120):
        written.add(await write())
        try:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
        except TimeoutError:
            continue
        return message, written
    raise AssertionError("the subscriber never heard an event")


async def next_message(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
    return message
