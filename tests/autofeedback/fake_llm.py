"""A small OpenAI-compatible chat completions server for the tests: Starlette under
uvicorn in a background thread on 127.0.0.1. It records every request (body and
headers) and answers from a script of replies, then from a responder function."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
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


@dataclass
class Reply:
    """An answer: a 200 chat completion with ``content``, or an error ``status``."""

    content: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: Any = None  # a body sent as it is, instead of a chat completion

    @classmethod
    def label(cls, values: dict[str, Any]) -> Reply:
        return cls(content=json.dumps(values))

    @classmethod
    def error(cls, status: int, retry_after: str | None = None) -> Reply:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return cls(status=status, headers=headers)


def completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.script: deque[Reply] = deque()
        self.responder: Callable[[dict[str, Any]], Reply] = lambda body: Reply(content="{}")
        # response_format types answered with 400, as a server without that mode does
        self.refused_formats: set[str] = set()
        # While set to an Event, requests (after the first ``gate_after``) wait for it.
        self.gate: threading.Event | None = None
        self.gate_after = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    def last_user_message(self, body: dict[str, Any]) -> str:
        """The run to label: the last user turn showing a run (a correction after an
        invalid answer comes after it)."""
        users = [m["content"] for m in body["messages"] if m["role"] == "user"]
        runs = [u for u in users if u.startswith("Run to label")]
        return str((runs or users)[-1])

    async def _chat(self, request: Request) -> Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        fmt = (body.get("response_format") or {}).get("type")
        if fmt in self.refused_formats:
            message = f"response_format type {fmt} is not supported by this server"
            return JSONResponse({"error": {"message": message}}, status_code=400)
        if self.gate is not None and len(self.requests) > self.gate_after:
            await asyncio.to_thread(self.gate.wait, 60)
        reply = self.script.popleft() if self.script else self.responder(body)
        if reply.raw is not None:
            return JSONResponse(reply.raw, status_code=reply.status)
        if reply.status != 200:
            return JSONResponse(
                {"error": {"message": f"fake error {reply.status}"}},
                status_code=reply.status,
                headers=reply.headers,
            )
        return JSONResponse(completion(body["model"], reply.content or ""), headers=reply.headers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])


@contextmanager
def running_fake_llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    port = free_port()
    config = uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake LLM server did not start")
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        if fake.gate is not None:
            fake.gate.set()
        server.should_exit = True
        thread.join(timeout=30)
