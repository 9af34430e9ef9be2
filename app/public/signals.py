"""POST /public/signals: implicit signals from the widget's host page.

The page that embeds the widget reports what the person did with the answer
(copied, regenerated, edited, abandoned ...) with the same presigned token:
JSON ``{token, kind, editedOutput?}``. The route does the public-route plumbing
(CORS, per-IP and per-token rate limits, the body cap, the token checks without
taking a use) and records the signal on the token's run, as its end user."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.feedback_tokens import (
    check_page_origin,
    open_token,
    read_claims,
)
from app.domain.tokens import InvalidToken
from app.errors import PlauditError, error_response
from app.public import cors
from app.public.client import client_ip, own_origins, request_origin
from app.public.content_types import require_json
from app.public.implicit_signals import handle_public_signal
from app.public.responses import parse_json_object, read_body
from app.services import Services


async def post_signal(request: Request) -> Response:
    services: Services = request.app.state.services
    settings = services.settings
    origin = request_origin(request)
    try:
        await services.public_limits.hit_ip(client_ip(request, settings))
        require_json(request)
        body = parse_json_object(await read_body(request, settings.public_max_body_bytes))
        token = body.pop("token", None)
        if not isinstance(token, str):
            raise InvalidToken("missing token")
        claims = read_claims(services.feedback_tokens, settings, token)
        await services.public_limits.hit_token(claims.jti)
        record = await open_token(services.stores, claims)
        await check_page_origin(
            services.stores, record, origin, own_origins(request, settings), what="signals"
        )
        result = await handle_public_signal(services, record, body)
    except PlauditError as exc:
        return error_response(exc, await cors.for_refusal(request, services, origin, exc))
    return JSONResponse(result, headers=cors.allow(origin))
