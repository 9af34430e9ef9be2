"""The LangSmith-compatible REST API, served at ``/api/v1`` and at the root (the
SDK's ``LANGSMITH_ENDPOINT`` may be either ``https://host`` or
``https://host/api/v1``). Authentication is a Plaudit API key in ``x-api-key``."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Router
from starlette.types import Receive, Scope, Send

from app.compat.langsmith import (
    comparative,
    datasets,
    examples,
    feedback,
    feedback_configs,
    info,
    run_queries,
    runs,
    sessions,
)
from app.compat.langsmith.http import error_response, route
from app.compat.langsmith.tokens import token_routes
from app.errors import NotFound


def api_routes() -> list[BaseRoute]:
    return [
        route("/info", GET=info.read),
        route("/feedback", GET=feedback.list_, POST=feedback.create),
        # ---- Presigned feedback tokens (app/compat/langsmith/tokens.py). They must
        # come before /feedback/{feedback_id}, which would otherwise take them.
        *token_routes(),
        # ----
        route(
            "/feedback/{feedback_id}",
            GET=feedback.read,
            PATCH=feedback.update,
            DELETE=feedback.delete,
        ),
        route(
            "/feedback-configs",
            GET=feedback_configs.list_,
            POST=feedback_configs.create,
            PATCH=feedback_configs.update,
            DELETE=feedback_configs.delete,
        ),
        route("/runs", POST=runs.create),
        route("/runs/batch", POST=runs.batch),
        route("/runs/multipart", POST=runs.multipart),
        route("/runs/query", POST=run_queries.query),
        route("/runs/{run_id}", GET=run_queries.read, PATCH=runs.update),
        route("/sessions", GET=sessions.list_, POST=sessions.create),
        route(
            "/sessions/{session_id}",
            GET=sessions.read,
            PATCH=sessions.update,
            DELETE=sessions.delete,
        ),
        route("/datasets", GET=datasets.list_, POST=datasets.create),
        # Before /datasets/{dataset_id}, which would otherwise take it.
        route("/datasets/comparative", POST=comparative.create),
        route(
            "/datasets/{dataset_id}",
            GET=datasets.read,
            PATCH=datasets.update,
            DELETE=datasets.delete,
        ),
        route("/datasets/{dataset_id}/versions", GET=datasets.versions),
        route("/datasets/{dataset_id}/version", GET=datasets.version),
        route("/examples", GET=examples.list_, POST=examples.create, DELETE=examples.delete_many),
        route("/examples/bulk", POST=examples.create_bulk, PATCH=examples.update_bulk),
        route(
            "/examples/{example_id}",
            GET=examples.read,
            PATCH=examples.update,
            DELETE=examples.delete,
        ),
    ]


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    message = f"no such LangSmith-compatible route: {scope['path']}"
    response = error_response(NotFound(message))
    await response(scope, receive, send)


def routes() -> list[BaseRoute]:
    """Add these to the app's routes."""
    return [
        Mount("/api/v1", app=Router(routes=api_routes(), default=not_found)),
        *api_routes(),
    ]
