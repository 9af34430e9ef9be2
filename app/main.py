"""create_app(settings) -> the Starlette app: routes, middleware, lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.compat.langfuse import routes as langfuse_routes
from app.compat.langsmith import routes as langsmith_routes
from app.compat.otlp import routes as otlp_routes
from app.dashboard.routes import dashboard_routes
from app.domain.background import reported_if_slow
from app.domain.tracing_projects import migrate_runs
from app.errors import BodyTooLarge, PlauditError, Unavailable, error_response
from app.graphql.app import PlauditGraphQL
from app.graphql.ide import graphiql_routes
from app.graphql.schema import schema
from app.metrics import MetricsMiddleware, metrics_endpoint
from app.public.routes import public_routes
from app.rest.export import export_download
from app.services import Services
from app.settings import Settings
from app.store.client import make_client, open_stores, ping
from app.store.errors import DatabaseError

log = logging.getLogger("plaudit")


class BodySizeLimit:
    """Refuse request bodies over the limit with 413, before reading them whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(self.max_bytes)(scope, receive, send)
                    return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(self.max_bytes)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> Response:
    return error_response(BodyTooLarge(f"request body over {limit} bytes"))


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        await ping(services.client)
    except Exception as exc:
        log.warning("readyz: %s", exc)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse(
        {
            "status": "ready",
            "database": "embedded" if services.settings.embedded else "external",
            "live": services.pipelines.live.mode,
        }
    )


async def plaudit_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlauditError)
    return error_response(exc)


async def database_error(request: Request, exc: Exception) -> Response:
    log.warning("database error on %s: %s", request.url.path, exc)
    return error_response(Unavailable())


def create_app(settings: Settings, **client_options: Any) -> Starlette:
    """Build the app. ``client_options`` go to AsyncMongoClient (tests add listeners)."""
    if settings.mongodb_uri is None:
        raise ValueError("create_app needs settings.mongodb_uri (the CLI starts the embedded one)")
    uri = settings.mongodb_uri

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = make_client(uri, **client_options)
        try:
            await ping(client)
            stores = await open_stores(client, settings.db_name)
            # Runs of earlier versions get a tracing project (a no-op once done).
            await migrate_runs(stores)
            services = Services.build(settings, client, stores)
            app.state.services = services
            await services.pipelines.start()
            # Automatic feedback jobs: resume unfinished ones, take new ones.
            await services.autofeedback.start()
            # Online evaluation: queue sampled runs, work the queue, check alerts.
            await services.evaluation.start()
            # Retention: remove records older than a project's retention period.
            services.retention.start()
            try:
                yield
            finally:
                async with reported_if_slow("shutdown", log):
                    await services.retention.stop()
                    await services.evaluation.stop()
                    await services.autofeedback.stop()
                    await services.pipelines.stop()
                    # Inserts whose caller went away are still written.
                    await stores.drain_writes()
        finally:
            async with reported_if_slow("closing the MongoDB client", log):
                await client.close()

    graphql = PlauditGraphQL(schema, graphql_ide="graphiql")
    app = Starlette(
        routes=[
            WebSocketRoute("/graphql", graphql),
            *dashboard_routes(),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *graphiql_routes(),
            Route("/metrics", metrics_endpoint(settings.metrics_token), methods=["GET"]),
            *public_routes(),
            Route("/export/{format}", export_download, methods=["GET"]),
            *otlp_routes.routes(),
            *langfuse_routes.routes(),
            *langsmith_routes(),
        ],
        lifespan=lifespan,
        exception_handlers={PlauditError: plaudit_error, DatabaseError: database_error},
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    return app


def app_from_env() -> Starlette:
    """The uvicorn factory: settings from the environment (set by `plaudit serve`)."""
    import os
    from dataclasses import replace

    logging.basicConfig(level=logging.INFO)
    settings = Settings.from_env()
    embedded = os.environ.get("PLAUDIT_EMBEDDED") == "1"
    return create_app(replace(settings, embedded=embedded))
