"""POST /public/signals: implicit signals from the widget's host page.

EXTENSION POINT. The host page that embeds the widget will report implicit signals
(the answer was copied, regenerated, dwelt on ...) with the same presigned token.
This route already does the public-route plumbing: CORS, the per-IP and per-token
rate limits, the body cap, and the token checks (signature, revoked, expired,
origin) *without* taking a use. It then hands the token record and the parsed JSON
body to the handler in ``app.state.signal_handler``, an async callable
``(services, token_record, body) -> dict``, and answers with its dict as JSON.

Signals are built elsewhere (the tasks branch): that work sets
``app.state.signal_handler`` in create_app. Until then the route answers
501 ``not_implemented``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.feedback_tokens import OriginNotAllowed, open_token, origin_allowed
from app.errors import PlauditError
from app.public import cors
from app.public.client import client_ip, own_origins, request_origin
from app.public.feedback import authorise
from app.public.responses import json_error, parse_json_object, read_body
from app.services import Services
from app.store.feedback_tokens import FeedbackToken
from app.tokens import InvalidToken

SignalHandler = Callable[[Services, FeedbackToken, dict[str, Any]], Awaitable[dict[str, Any]]]


class NotImplementedYet(PlauditError):
    code = "NOT_IMPLEMENTED"
    http_status = 501


async def post_signal(request: Request) -> Response:
    services: Services = request.app.state.services
    settings = services.settings
    origin = request_origin(request)
    try:
        await services.public_limits.hit_ip(client_ip(request, settings))
        body = parse_json_object(await read_body(request, settings.public_max_body_bytes))
        token = body.pop("token", None)
        if not isinstance(token, str):
            raise InvalidToken("missing token")
        claims = await authorise(request, services, token)
        record = await open_token(services.stores, claims)
        if (
            origin is not None
            and origin not in own_origins(request, settings)
            and not await origin_allowed(services.stores, record, origin)
        ):
            raise OriginNotAllowed(f"signals from {origin} are not allowed for this token")
        handler: SignalHandler | None = getattr(request.app.state, "signal_handler", None)
        if handler is None:
            raise NotImplementedYet("implicit signals are not recorded by this server yet")
        result = await handler(services, record, body)
    except PlauditError as exc:
        readable = not isinstance(exc, OriginNotAllowed) and await cors.origin_known(
            request, services, origin
        )
        return json_error(exc, cors.allow(origin if readable else None))
    return JSONResponse(result, headers=cors.allow(origin))
