"""Prometheus metrics: requests by route and status, and how long they took.

Labels use the route's path template (``/f/{token}``), never the raw path, so a
client cannot grow the number of series. ``/metrics`` answers requests with
``Authorization: Bearer $PLAUDIT_METRICS_TOKEN``; with no token configured, only
loopback clients. With several workers each process counts its own requests
(scrape each, or run one worker per container).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Forbidden, Unauthenticated, error_response

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "plaudit_http_requests",
    "HTTP requests answered",
    ["method", "route", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "plaudit_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LOOPBACK = ("127.0.0.1", "::1")


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    if isinstance(route, BaseRoute):
        return getattr(route, "path", "other")
    return "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = _route_label(scope)
            method = scope.get("method", "GET")
            REQUESTS.labels(method, route, str(status)).inc()
            DURATION.labels(method, route).observe(time.perf_counter() - started)


def metrics_endpoint(token: str | None) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return error_response(Unauthenticated("metrics need the metrics token"))
        elif request.client is None or request.client.host not in LOOPBACK:
            return error_response(
                Forbidden("set PLAUDIT_METRICS_TOKEN to scrape metrics from elsewhere")
            )
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return metrics
