"""A real Plaudit server on a loopback port, for clients that need one (the
LangSmith SDK, schemathesis, a browser)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.domain.auth import create_key
from app.main import create_app
from app.settings import Settings
from app.store import Stores
from app.store.client import make_client
from tests.conftest import Keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(settings: Settings, port: int | None = None) -> Iterator[str]:
    """Serve create_app(settings) in a background thread; yields the base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def make_project_sync(settings: Settings, name: str) -> Keys:
    """Create a project and one key of each role, outside any running event loop."""
    assert settings.mongodb_uri is not None
    uri = settings.mongodb_uri

    async def run() -> Keys:
        client = make_client(uri)
        try:
            stores = Stores.open(client[settings.db_name])
            project = await stores.projects.create(name)
            secrets = {}
            for role in ("admin", "ingest", "read"):
                _, secrets[role] = await create_key(stores, project.id, role)
            return Keys(project_id=project.id, **secrets)
        finally:
            await client.close()

    return asyncio.run(run())
