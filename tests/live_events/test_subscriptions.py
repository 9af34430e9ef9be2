"""feedbackEvents over a real WebSocket (graphql-transport-ws) against uvicorn."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.domain.feedback import FeedbackWrite, create_feedback
from app.main import create_app
from app.settings import Settings
from app.store import Stores
from tests.live_events.sockets import (
    CREATE,
    first_message,
    graphql,
    next_message,
    open_subscription,
    project,
    runs,
)
from tests.pipelines_support import CHANGE, LiveServer, serve

UPDATE = """mutation($id: ID!) {
  updateFeedback(id: $id, input: {score: false, comment: "no"}) { id }
}"""


async def test_subscriber_receives_changes_written_by_other_requests(
    server: LiveServer, stores: Stores
) -> None:
    keys = await project(stores, "acme")
    [run] = await runs(stores, keys.project_id, 1)
    ws = await open_subscription(server, keys.read, {"keys": ["thumbs"]})

    async def write() -> str:
        data = await graphql(
            server, keys.ingest, CREATE, {"input": {"runId": run, "key": "thumbs", "score": True}}
        )
        return str(data["createFeedback"]["id"])

    message, written = await first_message(ws, write)
    assert message["type"] == "next" and message["id"] == "1"
    event = message["payload"]["data"]["feedbackEvents"]
    assert event["kind"] == "CREATED"
    assert event["feedback"]["id"] in written
    assert (event["feedback"]["key"], event["feedback"]["score"]) == ("thumbs", True)
    for _ in range(len(written) - 1):  # the other probes, in order
        assert (await next_message(ws))["payload"]["data"]["feedbackEvents"]["kind"] == "CREATED"

    target = event["feedback"]["id"]
    await graphql(
        server,
        keys.ingest,
        UPDATE,
        {"id": target},
    )
    updated = (await next_message(ws))["payload"]["data"]["feedbackEvents"]
    assert (updated["kind"], updated["feedback"]["id"]) == ("UPDATED", target)
    assert (updated["feedback"]["score"], updated["feedback"]["comment"]) == (False, "no")

    # Written through another connection entirely (as another process would).
    await create_feedback(
        stores,
        keys.project_id,
        FeedbackWrite(run_id=run, key="thumbs", score=True, user_id="u1"),
        CHANGE,
    )
    await create_feedback(
        stores,
        keys.project_id,
        FeedbackWrite(run_id=run, key="thumbs", user_id="u1", retract=True),
        CHANGE,
    )
    kinds = [
        (await next_message(ws))["payload"]["data"]["feedbackEvents"]["kind"] for _ in range(2)
    ]
    assert kinds == ["CREATED", "RETRACTED"]

    await graphql(
        server, keys.ingest, "mutation($id: ID!) { deleteFeedback(id: $id) }", {"id": target}
    )
    deleted = (await next_message(ws))["payload"]["data"]["feedbackEvents"]
    assert (deleted["kind"], deleted["feedback"]["id"]) == ("DELETED", target)
    await ws.close()


async def test_filters_and_projects_are_respected(server: LiveServer, stores: Stores) -> None:
    acme = await project(stores, "acme")
    globex = await project(stores, "globex")
    watched, other = await runs(stores, acme.project_id, 2)
    [theirs] = await runs(stores, globex.project_id, 1)
    by_run = await open_subscription(server, acme.read, {"runIds": [watched]})
    foreign = await open_subscription(server, globex.read)

    async def write_acme() -> str:
        # Feedback on a run the subscriber does not watch, then on the one it does.
        await graphql(
            server, acme.ingest, CREATE, {"input": {"runId": other, "key": "k", "score": 1}}
        )
        data = await graphql(
            server, acme.ingest, CREATE, {"input": {"runId": watched, "key": "k", "score": 2}}
        )
        return str(data["createFeedback"]["id"])

    message, written = await first_message(by_run, write_acme)
    event = message["payload"]["data"]["feedbackEvents"]
    assert event["feedback"]["runId"] == watched and event["feedback"]["id"] in written

    async def write_globex() -> str:
        data = await graphql(
            server, globex.ingest, CREATE, {"input": {"runId": theirs, "key": "k", "score": 3}}
        )
        return str(data["createFeedback"]["id"])

    # acme's feedback was all written before; globex's subscriber hears only its own.
    message, written = await first_message(foreign, write_globex)
    event = message["payload"]["data"]["feedbackEvents"]
    assert event["feedback"]["id"] in written and event["feedback"]["runId"] == theirs
    await by_run.close()
    await foreign.close()


async def test_connections_need_a_valid_key(server: LiveServer, stores: Stores) -> None:
    keys = await project(stores, "acme")
    for payload in ({}, {"Authorization": "Bearer plaudit_nope"}, {"Authorization": "Basic x"}):
        ws = await connect(server.ws_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    # An ingest-only key cannot read events.
    ws = await open_subscription(server, keys.ingest)
    message = await next_message(ws)
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    await ws.close()


async def test_readyz_reports_change_streams(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        ready = (await client.get("/readyz")).json()
    assert ready["live"] == "change_stream"


async def test_every_process_sees_every_event(settings: Settings, stores: Stores) -> None:
    """Two app processes on one database: a write through one reaches a subscriber
    of the other (change streams)."""
    first, second = await asyncio.gather(
        asyncio.to_thread(serve, create_app(settings)),
        asyncio.to_thread(serve, create_app(settings)),
    )
    try:
        keys = await project(stores, "acme")
        [run] = await runs(stores, keys.project_id, 1)
        ws = await open_subscription(first, keys.read)

        async def write_via_second() -> str:
            data = await graphql(
                second, keys.ingest, CREATE, {"input": {"runId": run, "key": "k", "score": 1}}
            )
            return str(data["createFeedback"]["id"])

        message, written = await first_message(ws, write_via_second)
        assert message["payload"]["data"]["feedbackEvents"]["feedback"]["id"] in written
        await ws.close()
    finally:
        await asyncio.gather(asyncio.to_thread(first.stop), asyncio.to_thread(second.stop))


async def test_in_process_fallback(settings: Settings, stores: Stores) -> None:
    running = await asyncio.to_thread(
        serve, create_app(replace(settings, live_source="in_process"))
    )
    try:
        async with httpx.AsyncClient(base_url=running.url) as client:
            assert (await client.get("/readyz")).json()["live"] == "in_process"
        keys = await project(stores, "acme")
        [run] = await runs(stores, keys.project_id, 1)
        ws = await open_subscription(running, keys.read)

        async def write() -> str:
            data = await graphql(
                running, keys.ingest, CREATE, {"input": {"runId": run, "key": "k", "score": 1}}
            )
            return str(data["createFeedback"]["id"])

        message, written = await first_message(ws, write)
        event = message["payload"]["data"]["feedbackEvents"]
        assert event["kind"] == "CREATED" and event["feedback"]["id"] in written
        await ws.close()
    finally:
        await asyncio.to_thread(running.stop)
