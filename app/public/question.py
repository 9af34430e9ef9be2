"""GET /public/question?token=...: what the widget asks, before anyone answers.

The question's text and the answers it offers (thumbs, a scale, categories, a
number, a comment only; see app/domain/feedback_question.py), and nothing else: no
key, run, user or earlier feedback. The token is checked as for a vote (expired,
revoked, used up, the page's origin), but no use is taken and nothing is written.

A GET with no custom header is a "simple" request: the browser sends it without a
preflight, so a page whose origin is not allowed still reaches this route and is
told so (``origin_not_allowed``, readable by that page: a refusal carries no
data). The widget asks here first, and shows the refusal instead of buttons."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.feedback_question import token_question
from app.domain.feedback_tokens import check_page_origin, open_token, read_claims
from app.domain.tokens import InvalidToken
from app.errors import PlauditError, error_response
from app.public import cors
from app.public.client import client_ip, own_origins, request_origin
from app.services import Services

# Asked afresh on every load: a token revoked a moment ago shows as revoked.
CACHE_CONTROL = "no-store"


async def get_question(request: Request) -> Response:
    services: Services = request.app.state.services
    settings = services.settings
    origin = request_origin(request)
    try:
        await services.public_limits.hit_ip(client_ip(request, settings))
        token = request.query_params.get("token")
        if not token:
            raise InvalidToken("missing token")
        claims = read_claims(services.feedback_tokens, settings, token)
        record = await open_token(services.stores, claims)
        await check_page_origin(
            services.stores, record, origin, own_origins(request, settings), what="feedback"
        )
        question = await token_question(services.stores, record)
    except PlauditError as exc:
        return error_response(exc, await cors.for_refusal(request, services, origin, exc))
    headers = {**cors.allow(origin), "Cache-Control": CACHE_CONTROL}
    return JSONResponse(question.public(), headers=headers)
