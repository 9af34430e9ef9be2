"""An HTTP evaluator for the tests: Starlette under uvicorn in a background thread
on 127.0.0.1. It records every request (raw body and headers) and answers with what
``responder`` returns for it: (status, JSON body)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.live import free_port

Responder = Callable[[dict[str, Any]], tuple[int, Any]]


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    responder: Responder = lambda body: (200, {"score": 1})

    async def _evaluate(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Received(body, dict(request.headers)))
        status, answer = self.responder(json.loads(body))
        return JSONResponse(answer, status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/evaluate", self._evaluate, methods=["POST"])])


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    port = free_port()
    config = uvicorn.Config(receiver.app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the receiver did not start")
        time.sleep(0.02)
    receiver.url = f"http://127.0.0.1:{port}/evaluate"
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=30)
