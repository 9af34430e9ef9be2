"""The Langfuse-compatible API under ``/api/public`` (what the Langfuse SDKs call
when ``LANGFUSE_HOST`` / ``LANGFUSE_BASE_URL`` is Plaudit's address).
Authentication: a Langfuse-style key pair as Basic auth (app/compat/langfuse/http.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Router
from starlette.types import Receive, Scope, Send

from app.compat.langfuse import (
    browser,
    configs,
    ingestion,
    observations,
    scores,
    session_reads,
    trace_reads,
    traces,
)
from app.compat.langsmith.http import error_response, route
from app.errors import NotFound


def api_routes() -> list[BaseRoute]:
    return [
        route("/otel/v1/traces", POST=traces.export_traces),
        route("/scores", POST=scores.create, OPTIONS=browser.preflight),
        route("/scores/{score_id}", GET=scores.read, DELETE=scores.delete),
        route("/v3/scores", GET=scores.list_),
        route("/ingestion", POST=ingestion.ingest, OPTIONS=browser.preflight),
        route("/score-configs", POST=configs.create, GET=configs.list_),
        route("/score-configs/{config_id}", GET=configs.read, PATCH=configs.update),
        route("/traces", GET=trace_reads.list_),
        route("/traces/{trace_id}", GET=trace_reads.read),
        route("/observations", GET=observations.list_),
        route("/observations/{observation_id}", GET=observations.read),
        route("/v2/observations", GET=observations.list_v2),
        route("/sessions", GET=session_reads.list_),
        route("/sessions/{session_id}", GET=session_reads.read),
    ]


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    message = f"no such Langfuse-compatible route: {scope['path']}"
    await error_response(NotFound(message))(scope, receive, send)


def routes() -> list[BaseRoute]:
    """Add these to the app's routes."""
    return [Mount("/api/public", app=Router(routes=api_routes(), default=not_found))]
