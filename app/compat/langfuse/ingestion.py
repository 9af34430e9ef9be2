"""``POST /api/public/ingestion``: Langfuse's batch of events, ``{batch: [{id, type,
timestamp, body}], metadata}``, answered as Langfuse does: 207 with ``successes``
(``{id, status}``) and ``errors`` (``{id, status, message, error}``), by event id.

- ``score-create``: the event's body is a score (app/compat/langfuse/scores.py);
  the browser's public key alone may send these, and only these.
- ``sdk-log``: taken and dropped.
- The tracing events of the SDKs before OpenTelemetry (``trace-create``,
  ``span-create``/``-update``, ``generation-create``/``-update``,
  ``event-create``, ``observation-create``/``-update``): each refused (501)
  saying to send traces over OTLP (``/api/public/otel/v1/traces``), which every
  current SDK does. Mapping them too would be a second tracing path to keep in
  step with the OTLP one, for SDKs Langfuse no longer ships."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langfuse import browser, scores
from app.compat.langfuse.http import Caller, secret_caller
from app.compat.langsmith.http import endpoint, json_body, validator
from app.domain import validation as v
from app.errors import PlauditError

BATCH = validator(
    {
        "type": "object",
        "required": ["batch"],
        "properties": {
            "batch": {
                "type": "array",
                "maxItems": v.MAX_BATCH,
                "items": {
                    "type": "object",
                    "required": ["id", "type", "body"],
                    "properties": {"id": {"type": "string"}, "type": {"type": "string"}},
                },
            }
        },
    }
)
TRACING = frozenset(
    {
        "trace-create",
        "span-create",
        "span-update",
        "generation-create",
        "generation-update",
        "event-create",
        "observation-create",
        "observation-update",
    }
)
NOT_IMPLEMENTED = 501


def _error(event_id: str, status: int, message: str) -> dict[str, Any]:
    return {"id": event_id, "status": status, "message": message, "error": message}


async def _event(request: Request, caller: Caller, event: dict[str, Any]) -> dict[str, Any]:
    """One event's entry in ``successes`` or ``errors`` (with ``status`` >= 400)."""
    event_id, kind = event["id"], event["type"]
    if kind == "sdk-log":
        return {"id": event_id, "status": 201}
    if caller.public and kind != "score-create":
        return _error(event_id, 403, "the public key alone sends score-create events only")
    if kind in TRACING:
        return _error(
            event_id,
            NOT_IMPLEMENTED,
            f"{kind} events (the Langfuse SDKs before OpenTelemetry) are not taken: send "
            "traces over OTLP to /api/public/otel/v1/traces, as Langfuse's SDKs 3.x and "
            "later do",
        )
    if kind != "score-create":
        return _error(event_id, 400, f"unknown event type {kind[:60]!r}")
    try:
        await scores.record_score(request, caller, scores.one(event["body"]))
    except PlauditError as exc:
        return _error(event_id, exc.http_status, exc.message)
    return {"id": event_id, "status": 201}


async def ingest_as(request: Request, caller: Caller) -> Response:
    body = await json_body(request, BATCH)
    successes: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for event in body["batch"]:
        result = await _event(request, caller, event)
        (errors if result["status"] >= 400 else successes).append(result)
    return JSONResponse({"successes": successes, "errors": errors}, status_code=207)


@endpoint
async def ingest(request: Request) -> Response:
    if browser.public_key_only(request):
        return await browser.respond(request, ingest_as)
    return await ingest_as(request, await secret_caller(request))
