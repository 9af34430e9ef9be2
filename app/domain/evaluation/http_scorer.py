"""The HTTP evaluator: Plaudit POSTs the run to a URL the admin gives, signed as
webhooks are, and stores the score the endpoint answers.

The request is JSON::

    {"id": "<evaluation id>", "type": "evaluation.request", "created_at": "...",
     "project_id": "...", "rule": {"id", "name", "version", "key"},
     "run": {"id", "name", "inputs", "outputs", "tags", "metadata", "model", ...}}

with ``Plaudit-Signature: t=<unix seconds>,v1=<HMAC-SHA256 of "<t>.<body>">``
(app/domain/webhooks/signing.py), ``Plaudit-Event: evaluation.request`` and
``Plaudit-Delivery: <evaluation id>`` (the same on every retry: deduplicate on it).
The answer must be a 2xx with a JSON object ``{"score": <number or boolean>}``,
optionally with ``value`` (any JSON), ``comment`` and ``model``. Anything else is a
failed attempt, retried with backoff. Redirects are not followed.

Where it may post follows the webhooks' rule (app/domain/webhooks/destinations.py):
no loopback or private address unless ``PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS``,
checked when the rule is saved and on every address the host resolves to before
every request.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from app import clock
from app.domain.webhooks.destinations import DestinationNotAllowed, check_resolved
from app.domain.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from app.store.runs import Run

EVENT = "evaluation.request"
USER_AGENT = "Plaudit-Evaluations/1"
MAX_ANSWER_BYTES = 64 * 1024


class HttpEvaluationFailed(Exception):
    """No usable answer; ``final`` when no retry can change that (a refused address)."""

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.final = final


@dataclass(frozen=True)
class HttpAnswer:
    score: float | bool
    value: Any
    comment: str | None
    model: str | None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "inputs": run.inputs,
        "outputs": run.outputs,
        "tags": run.tags,
        "metadata": run.metadata,
        "user_id": run.user_id,
        "session_id": run.session_id,
        "trace_id": run.trace_id,
        "parent_run_id": run.parent_run_id,
        "model": run.model,
        "start_time": _iso(run.start_time),
        "end_time": _iso(run.end_time),
        "latency_ms": run.latency_ms,
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "total_tokens": run.total_tokens,
        "error": run.error,
    }


def request_body(evaluation_id: str, project_id: str, rule: dict[str, Any], run: Run) -> bytes:
    payload = {
        "id": evaluation_id,
        "type": EVENT,
        "created_at": clock.now().isoformat(),
        "project_id": project_id,
        "rule": rule,
        "run": run_json(run),
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def read_answer(response: httpx.Response) -> HttpAnswer:
    if not 200 <= response.status_code < 300:
        raise HttpEvaluationFailed(f"the evaluator answered HTTP {response.status_code}")
    if len(response.content) > MAX_ANSWER_BYTES:
        raise HttpEvaluationFailed(f"the evaluator's answer is over {MAX_ANSWER_BYTES} bytes")
    try:
        body = response.json()
    except ValueError:
        raise HttpEvaluationFailed("the evaluator's answer is not JSON") from None
    if not isinstance(body, dict) or "score" not in body:
        raise HttpEvaluationFailed('the evaluator\'s answer has no "score"')
    score = body["score"]
    if not isinstance(score, bool | int | float):
        raise HttpEvaluationFailed('the evaluator\'s "score" is not a number or a boolean')
    comment = body.get("comment")
    model = body.get("model")
    return HttpAnswer(
        score=score,
        value=body.get("value"),
        comment=comment if isinstance(comment, str) else None,
        model=model if isinstance(model, str) else None,
    )


class HttpEvaluator:
    """POSTs runs to one URL; one shared HTTP client per worker."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        secret: str,
        timeout: float,
        *,
        allow_private_networks: bool,
    ) -> None:
        self.client = client
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.allow_private_networks = allow_private_networks

    async def evaluate(
        self, evaluation_id: str, project_id: str, rule: dict[str, Any], run: Run
    ) -> HttpAnswer:
        if not self.allow_private_networks:
            try:
                await check_resolved(self.url)
            except DestinationNotAllowed as exc:
                raise HttpEvaluationFailed(exc.message, final=True) from None
        body = request_body(evaluation_id or str(uuid.uuid4()), project_id, rule, run)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(self.secret, body),
            EVENT_HEADER: EVENT,
            DELIVERY_HEADER: evaluation_id,
        }
        try:
            response = await self.client.post(
                self.url, content=body, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise HttpEvaluationFailed(
                f"the evaluator could not be reached: {reason}"[:500]
            ) from None
        return read_answer(response)
