"""The LLM client against a real HTTP server speaking the chat completions protocol:
answers, JSON modes, retries with Retry-After, errors, the concurrency limit, and an
API key that never reaches the logs."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from app.domain.autofeedback.llm import LLMClient, LLMConfig, LLMError, retry_after_seconds
from app.settings import Settings
from tests.autofeedback.fake_llm import FakeLLM, Reply
from tests.autofeedback.waiting import eventually
from tests.live import free_port

API_KEY = "sk-test-never-log-me-0123456789"
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "hi"}]


class Sleeps:
    """Records the delays the client asks for instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_client(fake_llm: FakeLLM, sleeps: Sleeps) -> AsyncIterator[Callable[..., LLMClient]]:
    made: list[LLMClient] = []

    def make(**options: object) -> LLMClient:
        config = LLMConfig(
            **{"base_url": fake_llm.url, "api_key": API_KEY, "max_retries": 2, **options}  # type: ignore[arg-type]
        )
        client = LLMClient(config, sleep=sleeps)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def test_answer_and_the_request_sent(
    fake_llm: FakeLLM, make_client: Callable[..., LLMClient]
) -> None:
    fake_llm.script.append(Reply.label({"ok": True}))
    answer = await make_client().complete_json("judge-1", MESSAGES, SCHEMA)
    assert answer == '{"ok": true}'
    (body,) = fake_llm.requests
    assert body["model"] == "judge-1"
    assert body["messages"] == MESSAGES
    assert body["temperature"] == 0
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "label", "schema": SCHEMA, "strict": False},
    }
    assert fake_llm.headers[0]["authorization"] == f"Bearer {API_KEY}"


async def test_without_a_key_no_authorization_header(
    fake_llm: FakeLLM, make_client: Callable[..., LLMClient]
) -> None:
    fake_llm.script.append(Reply.label({"ok": True}))
    await make_client(api_key=None).complete_json("m", MESSAGES, SCHEMA)
    assert "authorization" not in fake_llm.headers[0]


async def test_falls_back_to_json_object_then_to_no_format(
    fake_llm: FakeLLM, make_client: Callable[..., LLMClient]
) -> None:
    fake_llm.refused_formats = {"json_schema"}
    fake_llm.responder = lambda body: Reply.label({"ok": True})
    client = make_client()
    assert await client.complete_json("m", MESSAGES, SCHEMA) == '{"ok": true}'
    formats = [(b.get("response_format") or {}).get("type") for b in fake_llm.requests]
    assert formats == ["json_schema", "json_object"]
    # Remembered: the next call goes straight to the mode that worked.
    await client.complete_json("m", MESSAGES, SCHEMA)
    assert (fake_llm.requests[-1].get("response_format") or {}).get("type") == "json_object"
    assert len(fake_llm.requests) == 3

    fake_llm.refused_formats = {"json_schema", "json_object"}
    await client.complete_json("other-model", MESSAGES, SCHEMA)
    assert "response_format" not in fake_llm.requests[-1]
    assert len(fake_llm.requests) == 6


async def test_429_waits_as_retry_after_says_then_succeeds(
    fake_llm: FakeLLM, make_client: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    fake_llm.script.extend([Reply.error(429, retry_after="7"), Reply.label({"ok": False})])
    assert await make_client().complete_json("m", MESSAGES, SCHEMA) == '{"ok": false}'
    assert len(fake_llm.requests) == 2
    assert sleeps.delays == [7.0]


async def test_500s_until_retries_are_exhausted(
    fake_llm: FakeLLM, make_client: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    fake_llm.responder = lambda body: Reply.error(500)
    with pytest.raises(LLMError) as caught:
        await make_client(max_retries=3, backoff=1.0).complete_json("m", MESSAGES, SCHEMA)
    assert caught.value.retryable
    assert "HTTP 500 4 times" in caught.value.message
    assert "fake error 500" in caught.value.message
    assert len(fake_llm.requests) == 4
    # Exponential backoff with jitter: attempt n waits between 2^n/2 and 2^n seconds.
    assert len(sleeps.delays) == 3
    for n, delay in enumerate(sleeps.delays):
        assert 2**n / 2 <= delay <= 2**n


async def test_a_refusal_is_not_retried(
    fake_llm: FakeLLM, make_client: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    fake_llm.script.append(Reply.error(401))
    with pytest.raises(LLMError) as caught:
        await make_client().complete_json("m", MESSAGES, SCHEMA)
    assert not caught.value.retryable
    assert "HTTP 401" in caught.value.message
    assert len(fake_llm.requests) == 1
    assert sleeps.delays == []


async def test_an_answer_that_is_not_a_completion(
    fake_llm: FakeLLM, make_client: Callable[..., LLMClient]
) -> None:
    fake_llm.script.append(Reply(raw={"choices": []}))
    with pytest.raises(LLMError, match="not a chat completion"):
        await make_client().complete_json("m", MESSAGES, SCHEMA)
    fake_llm.script.append(Reply(raw={"choices": [{"message": {"content": None}}]}))
    with pytest.raises(LLMError, match="no text content"):
        await make_client().complete_json("m", MESSAGES, SCHEMA)


async def test_unreachable_endpoint_is_retried_then_fails(sleeps: Sleeps) -> None:
    config = LLMConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=2)
    client = LLMClient(config, sleep=sleeps)
    try:
        with pytest.raises(LLMError) as caught:
            await client.complete_json("m", MESSAGES, SCHEMA)
    finally:
        await client.close()
    assert caught.value.retryable
    assert "failed after 3 attempts" in caught.value.message
    assert len(sleeps.delays) == 2


async def test_concurrency_limit(fake_llm: FakeLLM, make_client: Callable[..., LLMClient]) -> None:
    fake_llm.gate = threading.Event()
    fake_llm.responder = lambda body: Reply.label({"ok": True})
    client = make_client(concurrency=2)
    calls = [asyncio.create_task(client.complete_json("m", MESSAGES, SCHEMA)) for _ in range(5)]
    await eventually(lambda: len(fake_llm.requests) >= 2, "two requests")
    await asyncio.sleep(0.2)  # room for a third request, were the limit not kept
    assert len(fake_llm.requests) == 2
    fake_llm.gate.set()
    assert await asyncio.gather(*calls) == ['{"ok": true}'] * 5
    assert fake_llm.max_in_flight == 2


async def test_the_api_key_is_never_logged(
    fake_llm: FakeLLM, make_client: Callable[..., LLMClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_llm.script.extend([Reply.error(503, retry_after="0"), Reply.error(401)])
    client = make_client()
    with pytest.raises(LLMError):
        await client.complete_json("m", MESSAGES, SCHEMA)
    assert caplog.records  # the retry and the requests were logged...
    assert all(API_KEY not in r.getMessage() for r in caplog.records)  # ...without the key
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(client)
    settings = Settings(llm_base_url=fake_llm.url, llm_model="m", llm_api_key=API_KEY)
    assert API_KEY not in repr(settings)


def test_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3", now) == 3.0
    assert retry_after_seconds("0.5", now) == 0.5
    assert retry_after_seconds("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("-4", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
