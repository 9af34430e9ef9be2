"""Serve the dashboard at /dashboard, its files at /dashboard/assets/."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

HERE = Path(__file__).parent


def _policy(request: Request) -> str:
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if host else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )


async def dashboard_page(request: Request) -> Response:
    return FileResponse(
        HERE / "index.html",
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": _policy(request),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/dashboard", dashboard_page, methods=["GET", "HEAD"]),
        Mount("/dashboard/assets", app=StaticFiles(directory=HERE / "assets"), name="dashboard"),
    ]
