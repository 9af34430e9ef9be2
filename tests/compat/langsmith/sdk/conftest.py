"""A live Plaudit server and real ``langsmith`` SDK clients pointed at it.

The server is uvicorn in a background thread, on 127.0.0.1 and a port the OS
picks, with its own event loop (the SDK is synchronous and blocks the test's
thread). The SDK is never left to find its endpoint on its own: every client gets
``api_url`` explicitly, and LANGSMITH_ENDPOINT points at the live server too, so
nothing ever goes to LangSmith's hosted API. Clients retry nothing, and are closed
(their background tracing thread drained and stopped) at the end of each test.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from langsmith import Client
from langsmith import utils as ls_utils
from starlette.applications import Starlette
from urllib3.util.retry import Retry

from app.main import create_app
from app.settings import Settings
from tests.conftest import Keys, make_project

T = TypeVar("T")


@dataclass
class LiveServer:
    url: str
    app: Starlette
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop, where its database client lives."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def graphql(self, key: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Plaudit's own API, to check what the SDK did."""
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def live(settings: Settings, sync_db: Any) -> Iterator[LiveServer]:
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # ws="none": the server needs no websockets (and their import warns).
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", ws="none", lifespan="on", access_log=False)
    )
    loop = asyncio.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve(sockets=[sock]))
        loop.close()

    thread = threading.Thread(target=serve, name="plaudit-live", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live Plaudit server did not start")
        time.sleep(0.01)
    yield LiveServer(url=f"http://127.0.0.1:{port}", app=app, loop=loop)
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture
def keys(live: LiveServer) -> Keys:
    """Keys of one project, made on the live server (overrides the ASGI fixture)."""
    return live.run(make_project(live.app, "acme"))


@pytest.fixture
def other_keys(live: LiveServer) -> Keys:
    return live.run(make_project(live.app, "globex"))


def set_langsmith_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Set LANGSMITH_<NAME> and LANGCHAIN_<NAME>, and forget what the SDK cached."""
    for name, value in values.items():
        for prefix in ("LANGSMITH", "LANGCHAIN"):
            monkeypatch.setenv(f"{prefix}_{name}", value)
    ls_utils.get_env_var.cache_clear()


@pytest.fixture(autouse=True)
def langsmith_env(monkeypatch: pytest.MonkeyPatch, live: LiveServer) -> Iterator[None]:
    """Whatever the SDK reads from the environment points at the live server."""
    monkeypatch.delenv("LANGSMITH_RUNS_ENDPOINTS", raising=False)
    set_langsmith_env(
        monkeypatch,
        ENDPOINT=live.url,
        API_KEY="unused-the-tests-pass-keys",
        TRACING="false",
        TRACING_V2="false",
    )
    yield
    ls_utils.get_env_var.cache_clear()


@pytest.fixture
def make_client(live: LiveServer, keys: Keys) -> Iterator[Callable[..., Client]]:
    """``make_client(key=admin, batch=False, api_url=live.url)``: a real SDK client.

    ``batch=False`` sends every run at once (POST /runs, PATCH /runs/{id});
    ``batch=True`` queues them for the SDK's background thread (POST /runs/batch),
    and the test calls ``client.flush()``."""
    clients: list[Client] = []
    # Older SDKs have no prompt cache (and so no way to turn it off).
    options = (
        {"disable_prompt_cache": True}
        if "disable_prompt_cache" in inspect.signature(Client).parameters
        else {}
    )

    def make(key: str | None = None, *, batch: bool = False, api_url: str | None = None) -> Client:
        client = Client(
            api_url=api_url or live.url,
            api_key=key or keys.admin,
            auto_batch_tracing=batch,
            retry_config=Retry(total=0),
            timeout_ms=(5_000, 30_000),
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        # Drains the background queue and stops the SDK's tracing thread.
        close = getattr(client, "close", None) or client.cleanup
        close()
