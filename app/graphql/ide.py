"""GraphiQL at GET /graphql, from files inside the package: no CDN, so it works offline.

The page loads React, ReactDOM and GraphiQL (put in static/vendor/ by
scripts/vendor-graphiql from pinned npm releases) and graphiql-start.js from
/graphql/static/. Each URL carries its file's content hash: browsers keep the file for
a year and fetch it again only when an upgrade changes it."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from app.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/graphql/static/"
STYLES = ["vendor/graphiql.min.css", "graphiql.css"]
SCRIPTS = [  # in the order they run
    "vendor/react.production.min.js",
    "vendor/react-dom.production.min.js",
    "vendor/graphiql.min.js",
    "graphiql-start.js",
]
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
IMMUTABLE = "public, max-age=31536000, immutable"


@lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    """Each served file's content hash, the ``v`` in its URL."""
    return {
        name: hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:16]
        for name in STYLES + SCRIPTS
    }


def asset_url(name: str) -> str:
    return f"{PREFIX}{name}?v={_versions()[name]}"


@lru_cache(maxsize=1)
def _page() -> str:
    styles = "".join(f'\n  <link rel="stylesheet" href="{asset_url(n)}">' for n in STYLES)
    scripts = "".join(f'\n  <script src="{asset_url(n)}" defer></script>' for n in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Plaudit GraphiQL</title>
  <link rel="icon" href="data:,">{styles}{scripts}
</head>
<body>
  <div id="graphiql">Loading GraphiQL...</div>
  <noscript>GraphiQL needs JavaScript; the API itself is at POST /graphql.</noscript>
</body>
</html>
"""


def _policy(request: Request) -> str:
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if host else ""
    return (
        # No 'unsafe-inline' for styles either: the one <style> GraphiQL adds (Radix
        # UI's scroll lock while a dialog is open) is blocked and not missed, as this
        # page never scrolls (graphiql.css).
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        # graphiql.min.css embeds its fonts as data: URLs; the icon is data:, too.
        "font-src data:; img-src data:; "
        # Queries over HTTP, subscriptions over graphql-transport-ws, same host only.
        f"connect-src 'self'{sockets}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def graphiql_page(request: Request) -> Response:
    return HTMLResponse(
        _page(),
        headers={
            "Content-Security-Policy": _policy(request),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )


async def graphiql_asset(request: Request) -> Response:
    name = request.path_params["name"]
    version = _versions().get(name)
    if version is None:
        raise NotFound(f"no GraphiQL file {name!r}")
    fresh = request.query_params.get("v") == version
    return FileResponse(
        STATIC / name,
        media_type=MEDIA_TYPES[Path(name).suffix],
        headers={
            "Cache-Control": IMMUTABLE if fresh else "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


def graphiql_routes() -> list[Route]:
    return [Route(PREFIX + "{name:path}", graphiql_asset, methods=["GET"])]
