"""Helpers for the analytics, live-event, webhook and dashboard tests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette

import app.domain.feedback as feedback_domain
from app import clock
from app.domain.feedback import Change, FeedbackWrite, create_feedback
from app.domain.runs import RunWrite, ingest_runs
from app.services import Services
from app.store.feedback import Feedback
from tests.live import free_port

CHANGE = Change(by="test", via="test")


def services(app: Starlette) -> Services:
    result: Services = app.state.services
    return result


class _Clock:
    """What ``clock.now()`` returns in app.domain.feedback while frozen."""

    at: datetime | None = None

    @staticmethod
    def now() -> datetime:
        return _Clock.at or clock.now()


@contextlib.contextmanager
def written_at(monkeypatch: pytest.MonkeyPatch, at: datetime) -> Iterator[None]:
    """Feedback written inside is recorded as created (and modified) at ``at``."""
    monkeypatch.setattr(feedback_domain, "clock", _Clock)
    _Clock.at = at
    try:
        yield
    finally:
        _Clock.at = None


async def make_runs(app: Starlette, project_id: str, count: int, **fields: Any) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    await ingest_runs(services(app).stores, project_id, [RunWrite(id=i, **fields) for i in ids])
    return ids


async def give(
    app: Starlette,
    project_id: str,
    run_id: str,
    key: str,
    score: Any = None,
    *,
    comment: Any = None,
    user_id: str | None = None,
    source_type: str = "api",
    value: Any = None,
) -> Feedback:
    write = FeedbackWrite(
        run_id=run_id, key=key, score=score, user_id=user_id, source_type=source_type
    )
    if comment is not None:
        write.comment = comment
    if value is not None:
        write.value = value
    record, _ = await create_feedback(services(app).stores, project_id, write, CHANGE)
    return record


async def eventually(
    check: Callable[[], Awaitable[bool]], *, limit: float = 30.0, every: float = 0.05
) -> None:
    """Wait until ``check()`` holds; fail (not a timing assertion: the limit is far
    beyond what a working system needs) when it never does."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


@dataclass
class LiveServer:
    """The app served by uvicorn on 127.0.0.1 in a background thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def serve(application: Starlette) -> LiveServer:
    port = free_port()
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return LiveServer(url=f"http://127.0.0.1:{port}", server=server, thread=thread)
