"""A client for any OpenAI-compatible chat completions endpoint.

Hosted APIs and local servers (vLLM, Ollama, llama.cpp's server) speak the same
``POST {base_url}/chat/completions``. Written on httpx (already a dependency) rather
than the ``openai`` package because Plaudit needs exactly three things the protocol
leaves to the client, and wants them visible:

- retries with exponential backoff on 429, 408 and 5xx and on connection errors and
  timeouts, honouring ``Retry-After`` (seconds or an HTTP date);
- a concurrency limit shared by every caller in the process;
- structured output: ``response_format`` ``json_schema`` first, falling back to
  ``json_object`` and then to none when the server refuses the mode with a 400/422.
  The mode that worked is remembered per model.

The API key goes only into the Authorization header: it is never logged, and it is
left out of this object's repr.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from app import clock
from app.settings import Settings

log = logging.getLogger("plaudit.autofeedback.llm")

JSON_MODES = ("json_schema", "json_object", "none")
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
# Longest wait between two attempts, whatever Retry-After asks for.
MAX_DELAY_SECONDS = 120.0
MAX_TOKENS = 1024

Sleep = Callable[[float], Awaitable[None]]


class LLMError(Exception):
    """The endpoint did not give an answer: refused the request (4xx), failed after
    every retry, or answered something that is not a chat completion."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    api_key: str | None = None
    timeout: float = 60.0
    max_retries: int = 4
    concurrency: int = 4
    # First backoff delay in seconds; doubles on every retry (with jitter).
    backoff: float = 0.5

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMConfig | None:
        if settings.llm_base_url is None:
            return None
        return cls(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            concurrency=settings.llm_concurrency,
        )

    def __repr__(self) -> str:
        return f"LLMConfig(base_url={self.base_url!r}, max_retries={self.max_retries})"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The delay a Retry-After header asks for: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or clock.now())).total_seconds())


class LLMClient:
    """Chat completions with retries, a concurrency limit and JSON modes."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._limit = asyncio.Semaphore(config.concurrency)
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            headers=headers,
            timeout=httpx.Timeout(config.timeout, connect=min(10.0, config.timeout)),
            transport=transport,
        )
        # model -> the first JSON mode the server accepted for it
        self._modes: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"LLMClient({self.config!r})"

    async def close(self) -> None:
        await self._http.aclose()

    async def complete_json(
        self, model: str, messages: list[dict[str, str]], schema: dict[str, Any]
    ) -> str:
        """The assistant's answer (text that should be JSON matching ``schema``)."""
        answer, _ = await self.complete_json_with_usage(model, messages, schema)
        return answer

    async def complete_json_with_usage(
        self, model: str, messages: list[dict[str, str]], schema: dict[str, Any]
    ) -> tuple[str, int]:
        """The answer, and the tokens the endpoint says it used (``usage.total_tokens``;
        0 when it does not say)."""
        start = JSON_MODES.index(self._modes.get(model, JSON_MODES[0]))
        for mode in JSON_MODES[start:]:
            body: dict[str, Any] = {
                "model": model,
                "messages": messages,
                "temperature": 0,
                "max_tokens": MAX_TOKENS,
            }
            if mode == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "label", "schema": schema, "strict": False},
                }
            elif mode == "json_object":
                body["response_format"] = {"type": "json_object"}
            response = await self._post(body)
            if response.status_code in (400, 422) and mode != JSON_MODES[-1]:
                log.info(
                    "LLM endpoint refused response_format %s for %s (HTTP %s); trying %s",
                    mode,
                    model,
                    response.status_code,
                    JSON_MODES[JSON_MODES.index(mode) + 1],
                )
                continue
            self._raise_for_status(response)
            self._modes[model] = mode
            return _content(response), _total_tokens(response)
        raise AssertionError("unreachable: the last mode returns or raises")

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                async with self._limit:
                    response = await self._http.post("/chat/completions", json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if last:
                    raise LLMError(
                        f"the LLM endpoint failed after {attempts} attempts: {reason}",
                        retryable=True,
                    ) from None
                delay = self._backoff(attempt)
                log.warning("LLM request failed (%s); retrying in %.1fs", reason, delay)
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                if last:
                    raise LLMError(
                        f"the LLM endpoint answered HTTP {response.status_code} "
                        f"{attempts} times: {_error_text(response)}",
                        retryable=True,
                    )
                asked = retry_after_seconds(response.headers.get("retry-after"))
                delay = self._backoff(attempt) if asked is None else min(asked, MAX_DELAY_SECONDS)
                log.warning(
                    "LLM endpoint answered HTTP %s; retrying in %.1fs", response.status_code, delay
                )
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int) -> float:
        # Exponential with "equal jitter": half fixed, half random.
        ceiling: float = min(MAX_DELAY_SECONDS, self.config.backoff * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise LLMError(
                f"the LLM endpoint refused the request: HTTP {response.status_code}: "
                f"{_error_text(response)}"
            )


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
    return response.text[:300]


def _total_tokens(response: httpx.Response) -> int:
    try:
        total = response.json()["usage"]["total_tokens"]
    except (ValueError, KeyError, TypeError):
        return 0
    return total if isinstance(total, int) and total > 0 else 0


def _content(response: httpx.Response) -> str:
    try:
        body = response.json()
        content = body["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LLMError("the LLM endpoint's answer is not a chat completion") from None
    if not isinstance(content, str):
        raise LLMError("the LLM endpoint's answer has no text content")
    return content
