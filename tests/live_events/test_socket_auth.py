"""A WebSocket's API key is checked again on every operation, on every result and
while the socket is idle, through the same cache as HTTP: a revoked key (or one
whose role or project changed) loses its socket, closed with code 4403."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from app.domain.auth import KeyCache, hash_key
from app.main import create_app
from app.settings import Settings
from app.store import Stores
from app.store.embedded.server import EmbeddedMongo
from tests.conftest import Keys, services
from tests.live_events.sockets import (
    CREATE,
    SUBSCRIBE,
    first_message,
    graphql,
    next_message,
    open_socket,
    open_subscription,
    project,
    runs,
    send_operation,
)
from tests.pipelines_support import LiveServer, serve

CREATE_KEY = "mutation { createApiKey(role: ADMIN) { secret } }"
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { id } }"
REVOKED = (4403, "API key revoked")
CHANGED = (4403, "API key changed: reconnect")


class ManualClock:
    """The key cache's clock in a served app: it moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class ClockedServer:
    """A served app whose key cache reads a ManualClock."""

    live: LiveServer
    clock: ManualClock
    ttl: float

    def expire_cached_keys(self) -> None:
        self.clock.now += self.ttl + 1


async def serve_with_clock(settings: Settings, **client_options: Any) -> ClockedServer:
    application = create_app(settings, **client_options)
    live = await asyncio.to_thread(serve, application)
    clock = ManualClock()
    ttl = settings.api_key_cache_seconds
    services(application).key_cache = KeyCache(ttl, timer=clock)
    return ClockedServer(live=live, clock=clock, ttl=ttl)


@pytest.fixture
async def clocked(settings: Settings, stores: Stores) -> AsyncIterator[ClockedServer]:
    running = await serve_with_clock(settings)
    yield running
    await asyncio.to_thread(running.live.stop)


async def key_id(stores: Stores, secret: str) -> str:
    record = await stores.api_keys.by_hash(hash_key(secret))
    assert record is not None
    return record.id


async def try_operation(
    ws: ClientConnection, id: str, query: str, variables: dict[str, Any] | None = None
) -> None:
    """Send an operation; the server may have closed the socket already."""
    with contextlib.suppress(ConnectionClosed):
        await send_operation(ws, id, query, variables)


async def close_of(ws: ClientConnection) -> Close:
    """Read until the server closes the socket; no data may arrive before."""
    while True:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd
        assert message["type"] not in ("next", "data"), message


async def create_key_over(ws: ClientConnection, id: str) -> None:
    """The socket's key creates an admin key."""
    await send_operation(ws, id, CREATE_KEY)
    message = await next_message(ws)
    assert message["type"] == "next", message
    assert message["payload"]["data"]["createApiKey"]["secret"].startswith("plaudit_"), message
    assert (await next_message(ws))["type"] == "complete"


async def key_count(stores: Stores, project_id: str) -> int:
    return len(await stores.api_keys.list(project_id))


async def subscribed(
    server: LiveServer, stores: Stores, keys: Keys, secret: str
) -> tuple[ClientConnection, Callable[[], Awaitable[str]]]:
    """A socket with a live feedbackEvents subscription (one event heard), and a
    function writing one more event."""
    [run] = await runs(stores, keys.project_id, 1)
    ws = await open_subscription(server, secret)

    async def write() -> str:
        data = await graphql(
            server, keys.ingest, CREATE, {"input": {"runId": run, "key": "k", "score": 1}}
        )
        return str(data["createFeedback"]["id"])

    _, written = await first_message(ws, write)
    for _ in range(len(written) - 1):  # the other probes
        assert (await next_message(ws))["type"] == "next"
    return ws, write


@pytest.mark.parametrize("in_header", [False, True], ids=["connection_init", "header"])
async def test_a_revoked_admin_key_cannot_mint_a_key_over_its_open_socket(
    server: LiveServer, stores: Stores, in_header: bool
) -> None:
    """The filed exploit: open a socket as admin, revoke the key over HTTP, ask
    the socket for a new admin key."""
    keys = await project(stores, "acme")
    ws = await open_socket(server, keys.admin, in_header=in_header)
    await create_key_over(ws, "1")  # the socket works as admin
    count = await key_count(stores, keys.project_id)

    await graphql(server, keys.admin, REVOKE, {"id": await key_id(stores, keys.admin)})
    await try_operation(ws, "2", CREATE_KEY)

    close = await close_of(ws)
    assert (close.code, close.reason) == REVOKED
    assert await key_count(stores, keys.project_id) == count


@pytest.mark.parametrize("event_after", [True, False], ids=["event-after", "idle"])
async def test_a_revoked_keys_subscription_delivers_nothing_more(
    server: LiveServer, stores: Stores, event_after: bool
) -> None:
    """With an event written after the revocation, or with none (the client sends
    nothing either): the server notices on its own and closes the socket."""
    keys = await project(stores, "acme")
    ws, write = await subscribed(server, stores, keys, keys.read)

    await graphql(server, keys.admin, REVOKE, {"id": await key_id(stores, keys.read)})
    if event_after:
        await write()

    close = await close_of(ws)
    assert (close.code, close.reason) == REVOKED


async def test_a_revocation_in_another_process_closes_the_socket_when_the_cache_expires(
    server: LiveServer, clocked: ClockedServer, stores: Stores
) -> None:
    """Two app processes on one database: the key is revoked through `server`; the
    socket is on `clocked`, which sees it once its cached lookup expires."""
    keys = await project(stores, "acme")
    ws, write = await subscribed(clocked.live, stores, keys, keys.admin)

    await graphql(server, keys.admin, REVOKE, {"id": await key_id(stores, keys.admin)})
    clocked.expire_cached_keys()
    await write()
    await try_operation(ws, "2", CREATE_KEY)

    close = await close_of(ws)
    assert (close.code, close.reason) == REVOKED
    assert await key_count(stores, keys.project_id) == 3


async def test_a_lowered_role_is_not_kept_by_an_open_socket(
    clocked: ClockedServer, stores: Stores
) -> None:
    """No API changes a key's role: an operator edits the key's record in the
    database, and every process sees it once its cached lookup expires."""
    keys = await project(stores, "acme")
    admin_id = await key_id(stores, keys.admin)
    ws = await open_socket(clocked.live, keys.admin)
    await create_key_over(ws, "1")
    count = await key_count(stores, keys.project_id)

    await stores.api_keys.collection.update_one({"_id": admin_id}, {"$set": {"role": "read"}})
    clocked.expire_cached_keys()
    await try_operation(ws, "2", CREATE_KEY)

    close = await close_of(ws)
    assert (close.code, close.reason) == CHANGED
    assert await key_count(stores, keys.project_id) == count
    # Reconnected, the key has its current role.
    ws = await open_socket(clocked.live, keys.admin)
    await send_operation(ws, "1", CREATE_KEY)
    message = await next_message(ws)
    assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await ws.close()


async def test_a_key_moved_to_another_project_loses_the_old_projects_events(
    clocked: ClockedServer, stores: Stores
) -> None:
    acme = await project(stores, "acme")
    globex = await project(stores, "globex")
    ws, write = await subscribed(clocked.live, stores, acme, acme.read)

    await stores.api_keys.collection.update_one(
        {"_id": await key_id(stores, acme.read)}, {"$set": {"project_id": globex.project_id}}
    )
    clocked.expire_cached_keys()
    await write()  # an event in the key's former project

    close = await close_of(ws)
    assert (close.code, close.reason) == CHANGED


async def test_the_legacy_graphql_ws_protocol_is_refused(
    server: LiveServer, stores: Stores
) -> None:
    """Only graphql-transport-ws re-checks the key: over the older graphql-ws
    protocol (never documented) a subscription would outlive its key, so that
    protocol is not served at all."""
    keys = await project(stores, "acme")
    ws = await connect(server.ws_url, subprotocols=["graphql-ws"])  # type: ignore[list-item]
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {keys.admin}"}}
    start = {"id": "1", "type": "start", "payload": {"query": SUBSCRIBE}}
    with contextlib.suppress(ConnectionClosed):
        await ws.send(json.dumps(init))
        await ws.send(json.dumps(start))
    close = await close_of(ws)
    assert (close.code, close.reason) == (4406, "Subprotocol not acceptable")


async def test_a_key_that_cannot_be_checked_closes_the_socket(
    settings: Settings, tmp_path: Path
) -> None:
    """The database stops answering when the socket's cached lookup expires:
    nothing more goes out unchecked; the socket is closed with 1013 (try again later)."""
    store = EmbeddedMongo(tmp_path / "store")
    await asyncio.to_thread(store.start)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(store.uri, tz_aware=True)
    clocked = await serve_with_clock(
        replace(settings, mongodb_uri=store.uri),
        serverSelectionTimeoutMS=1500,
        connectTimeoutMS=1000,
        socketTimeoutMS=3000,
    )
    try:
        keys = await project(Stores.open(client[settings.db_name]), "acme")
        ws = await open_socket(clocked.live, keys.admin)
        await create_key_over(ws, "1")

        await asyncio.to_thread(store.kill)
        clocked.expire_cached_keys()

        close = await close_of(ws)
        assert (close.code, close.reason) == (1013, "API key could not be checked: reconnect later")
    finally:
        await asyncio.to_thread(store.start)
        await asyncio.to_thread(clocked.live.stop)
        await client.close()
        await asyncio.to_thread(store.stop)
