"""An HTTP evaluator for the tests: Starlette under uvicorn in a background thread
on 127.0.0.1. It records every request (raw body and headers) and answers with what
``responder`` returns for it: (status, JSON body)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.pipelines_support import serve

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
    server = serve(receiver.app())
    receiver.url = f"{server.url}/evaluate"
    try:
        yield receiver
    finally:
        server.stop()
