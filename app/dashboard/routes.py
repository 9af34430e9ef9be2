"""Serve the dashboard at /dashboard, the review workspace at /dashboard/review,
the experiment comparison at /dashboard/experiments, their files at
/dashboard/assets/."""

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
    return _page(request, "index.html")


async def experiments_page(request: Request) -> Response:
    return _page(request, "experiments.html")


async def review_page(request: Request) -> Response:
    # A reviewer link's token is in the URL's fragment, which never reaches here.
    return _page(request, "review.html")


def _page(request: Request, name: str) -> Response:
    return FileResponse(
        HERE / name,
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
        Route("/dashboard/review", review_page, methods=["GET", "HEAD"]),
        Route("/dashboard/experiments", experiments_page, methods=["GET", "HEAD"]),
        Mount("/dashboard/assets", app=StaticFiles(directory=HERE / "assets"), name="dashboard"),
    ]
