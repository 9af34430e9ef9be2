"""GET /widget.js: the embeddable widget, one file, served with an ETag."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

# Shipped inside the package (no build step), so an installed wheel serves it.
WIDGET_PATH = Path(__file__).resolve().parent / "static" / "plaudit-widget.js"
# Browsers revalidate after five minutes; the ETag makes that a 304.
CACHE_CONTROL = "public, max-age=300, must-revalidate"


@lru_cache(maxsize=1)
def _widget() -> tuple[bytes, str]:
    body = WIDGET_PATH.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def widget_js(request: Request) -> Response:
    body, etag = _widget()
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        # Any page may load the script; it talks only to this server.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    match = request.headers.get("if-none-match", "")
    if etag in {tag.strip() for tag in match.split(",")} or match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
