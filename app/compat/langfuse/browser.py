"""Langfuse's browser scores: a page sends ``Authorization: Bearer pk-lf-...`` (the
public key alone, which is not secret) to ``POST /api/public/scores`` or
``/api/public/ingestion`` (``score-create`` events only).

Taken only when the key's project turns it on (``langfusePublicScores``), only
from a page on one of the project's ``allowedOrigins`` (the widget's list: a
request with no Origin, or ``null``, is refused), counted against the widget's
per-address rate limit, and create-only: a score id that exists is refused, and
the record is the browser's own (its ``authorUserId`` is kept, not made the
record's user, so it never lands on another record). Nothing else takes the
public key alone. Presigned feedback tokens (the widget's) are the safer way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from app.compat.langfuse.http import Caller
from app.compat.langsmith.http import services
from app.domain.auth import LANGFUSE_PUBLIC_PREFIX, bearer_secret, public_key_owner
from app.domain.feedback import Change
from app.domain.feedback_tokens import NULL_ORIGIN, OriginNotAllowed
from app.errors import Forbidden, PlauditError, error_response
from app.public import cors
from app.public.client import client_ip, request_origin

ALLOW_METHODS = "POST, OPTIONS"
ALLOW_HEADERS = (
    "Authorization, Content-Type, X-Langfuse-Public-Key, X-Langfuse-Sdk-Name, "
    "X-Langfuse-Sdk-Version, X-Langfuse-Sdk-Variant, X-Langfuse-Sdk-Integration"
)
TURN_ON = (
    "scores with the public key alone are off for this project; an admin turns them "
    "on with updateProject(input: {langfusePublicScores: true}) (presigned feedback "
    "tokens are the safer way)"
)

Handler = Callable[[Request, Caller], Awaitable[Response]]


def public_key_only(request: Request) -> bool:
    """Whether the request carries a Langfuse public key as its Bearer credential."""
    credential = bearer_secret(request.headers.get("authorization"))
    return credential is not None and credential.startswith(LANGFUSE_PUBLIC_PREFIX)


async def browser_caller(request: Request, origin: str | None) -> Caller:
    svc = services(request)
    await svc.public_limits.hit_ip(client_ip(request, svc.settings))
    credential = bearer_secret(request.headers.get("authorization")) or ""
    key = await public_key_owner(svc.stores, credential)
    project = await svc.stores.projects.get_cached(key.project_id)
    if project is None or not project.langfuse_public_scores:
        raise Forbidden(TURN_ON)
    if origin is None or origin == NULL_ORIGIN:
        raise OriginNotAllowed(
            "scores with the public key alone come from a page on one of the project's "
            "allowedOrigins (this request names no origin)"
        )
    if origin not in project.allowed_origins:
        raise OriginNotAllowed(f"the origin {origin} is not one of this project's allowedOrigins")
    return Caller(key.project_id, Change(by=f"public-key:{key.id}", via="browser"), public=True)


async def respond(request: Request, handler: Handler) -> Response:
    """Run ``handler`` as the browser, with CORS headers on its answer and its errors."""
    origin = request_origin(request)
    svc = services(request)
    try:
        caller = await browser_caller(request, origin)
        response = await handler(request, caller)
    except PlauditError as exc:
        return error_response(exc, await cors.for_refusal(request, svc, origin, exc))
    response.headers.update(cors.allow(origin))
    return response


async def preflight(request: Request) -> Response:
    """OPTIONS from a browser page: an origin some project or token lists may ask;
    the request itself is then checked against the key's project."""
    return await cors.answer_preflight(request, ALLOW_METHODS, ALLOW_HEADERS)
