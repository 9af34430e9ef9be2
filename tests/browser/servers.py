"""A real server for browser tests: the app under uvicorn in a background thread,
and a second tiny HTTP server (another origin) for pages that embed the widget."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from app.domain.auth import create_key
from app.settings import Settings
from app.store import Stores
from app.store.client import make_client
from app.store.indexes import ensure_indexes
from tests.live import free_port, live_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class LiveApp:
    url: str
    settings: Settings
    admin_key: str
    project_id: str

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.admin_key}"},
        )
        body = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


async def _bootstrap(settings: Settings) -> tuple[str, str]:
    assert settings.mongodb_uri is not None
    client = make_client(settings.mongodb_uri)
    try:
        stores = Stores.open(client[settings.db_name])
        await ensure_indexes(stores.db)
        project = await stores.projects.create("acme")
        _, secret = await create_key(stores, project.id, "admin")
        return project.id, secret
    finally:
        await client.close()


@contextmanager
def live_app(settings: Settings) -> Iterator[LiveApp]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = replace(settings, host="127.0.0.1", port=port, public_url=url)
    # In a thread of its own: Playwright's sync API keeps an event loop running here.
    with ThreadPoolExecutor(1) as pool:
        project_id, admin_key = pool.submit(asyncio.run, _bootstrap(settings)).result()
    with live_server(settings, port=port):
        yield LiveApp(url=url, settings=settings, admin_key=admin_key, project_id=project_id)


@dataclass
class HostPage:
    """Another origin's page; set ``html`` before loading it."""

    origin: str
    html: str = "<!doctype html><title>empty</title>"


@contextmanager
def host_page() -> Iterator[HostPage]:
    """Serve a page at / from another origin (another port)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    page = HostPage(origin=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield page
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
