"""CORS for the public API: only origins configured on a project or a token.

No credentials: the token in the body is the only authority, so cookies are
neither needed nor allowed (no Access-Control-Allow-Credentials)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.domain.feedback_tokens import NULL_ORIGIN, OriginNotAllowed, origin_listed_anywhere
from app.errors import PlauditError, error_response
from app.public.client import own_origins, request_origin
from app.services import Services

ALLOW_METHODS = "POST, OPTIONS"  # GET /public/question is a simple request: no preflight
ALLOW_HEADERS = "Content-Type"
MAX_AGE_SECONDS = "600"


def allow(origin: str | None) -> dict[str, str]:
    """Headers that let a page on ``origin`` read the response."""
    if origin is None:
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def origin_known(request: Request, services: Services, origin: str | None) -> bool:
    """Whether the origin is this server, or configured on some project or live token."""
    if origin is None or origin == NULL_ORIGIN:
        return False
    if origin in own_origins(request, services.settings):
        return True
    return await origin_listed_anywhere(services.stores, origin)


async def for_refusal(
    request: Request, services: Services, origin: str | None, error: PlauditError
) -> dict[str, str]:
    """Headers for an error response. A page may read why its origin was refused
    (the body names only that: a refusal carries no data), so the widget can say so;
    other errors only when its origin is this server or configured somewhere. A
    ``null`` origin never: it names no site to answer."""
    if origin is None or origin == NULL_ORIGIN:
        return allow(None)
    if isinstance(error, OriginNotAllowed):
        return allow(origin)
    return allow(origin if await origin_known(request, services, origin) else None)


async def preflight(request: Request) -> Response:
    """Answer OPTIONS. A preflight carries no token, so it admits an origin that is
    configured anywhere; the request itself is then checked against its token."""
    return await answer_preflight(request, ALLOW_METHODS, ALLOW_HEADERS)


async def answer_preflight(request: Request, methods: str, headers: str) -> Response:
    """A preflight's answer: these methods and headers, for an origin configured anywhere."""
    services: Services = request.app.state.services
    origin = request_origin(request)
    if not await origin_known(request, services, origin):
        error = OriginNotAllowed(
            "null origins are not allowed"
            if origin == NULL_ORIGIN
            else f"origin {origin or '(none)'} is not allowed"
        )
        return error_response(error, {"Vary": "Origin"})
    return Response(
        status_code=204,
        headers={
            **allow(origin),
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": headers,
            "Access-Control-Max-Age": MAX_AGE_SECONDS,
        },
    )
