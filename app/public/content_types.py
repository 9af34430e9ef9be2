"""The public JSON routes take ``Content-Type: application/json`` and nothing else.

A browser posts ``text/plain``, a form, or a body with no content type from any
page without asking first; ``application/json`` makes it ask (a CORS preflight),
and the preflight admits only origins configured on a project or token. Taking
JSON alone means no page elsewhere can write through these routes unasked. Their
clients all send it: the widget, the LangSmith SDKs, ``requests``/``httpx`` with
``json=``."""

from __future__ import annotations

from starlette.requests import Request

from app.errors import PlauditError

JSON = "application/json"


class UnsupportedMediaType(PlauditError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


def require_json(request: Request) -> None:
    """UnsupportedMediaType unless the body is declared as ``application/json``
    (any case, with or without parameters such as ``charset``)."""
    declared = request.headers.get("content-type", "")
    if declared.split(";", 1)[0].strip().lower() != JSON:
        shown = repr(declared[:60]) if declared else "none"
        raise UnsupportedMediaType(f"send the body as JSON with Content-Type: {JSON} (got {shown})")
