"""POST /public/feedback: the widget's way in, authorised by a presigned token.

Body (JSON): ``{token, score?, value?, comment?, correction?, retract?}``. A field
left out keeps its stored value (a comment can follow a vote), and so does
``score: null`` ("no score given"); ``retract: true`` withdraws the vote. Errors
are ``{error, message}`` with a specific status."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.domain.feedback_tokens import (
    SUBMISSION_FIELDS,
    Submission,
    read_claims,
    submit_feedback,
)
from app.domain.tokens import InvalidToken
from app.errors import BadRequest, PlauditError, error_response
from app.public import cors
from app.public.client import client_hash, client_ip, own_origins, request_origin
from app.public.content_types import require_json
from app.public.responses import parse_json_object, read_body
from app.services import Services
from app.settings import Settings
from app.store.feedback import Feedback

FIELDS = frozenset({"token", "retract", *SUBMISSION_FIELDS})


class CommentTooLong(BadRequest):
    code = "COMMENT_TOO_LONG"


def check_comment(comment: Any, settings: Settings) -> Any:
    if comment is None:
        return comment
    if not isinstance(comment, str):
        raise BadRequest("comment must be a string", field="comment")
    if len(comment) > settings.public_max_comment_chars:
        raise CommentTooLong(
            f"the comment is {len(comment)} characters long; "
            f"the limit is {settings.public_max_comment_chars}",
            field="comment",
        )
    return comment


def parse_submission(body: dict[str, Any], settings: Settings) -> tuple[str, Submission]:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; fields are {', '.join(sorted(FIELDS))}")
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise InvalidToken("missing token")
    fields = {name: body[name] for name in SUBMISSION_FIELDS if name in body}
    if "comment" in fields:
        fields["comment"] = check_comment(fields["comment"], settings)
    retract = body.get("retract", False)
    if not isinstance(retract, bool):
        raise BadRequest("retract must be true or false", field="retract")
    return token, Submission(fields, retract=retract)


def feedback_json(feedback: Feedback) -> dict[str, Any]:
    return {
        "id": feedback.id,
        "score": feedback.score,
        "value": feedback.value,
        "comment": feedback.comment,
        "retracted": feedback.retracted,
    }


async def post_feedback(request: Request) -> Response:
    services: Services = request.app.state.services
    settings = services.settings
    origin = request_origin(request)
    try:
        ip = client_ip(request, settings)
        await services.public_limits.hit_ip(ip)
        require_json(request)
        body = parse_json_object(await read_body(request, settings.public_max_body_bytes))
        token, submission = parse_submission(body, settings)
        claims = read_claims(services.feedback_tokens, settings, token)
        _, feedback = await submit_feedback(
            services.stores,
            claims,
            submission,
            via="widget",
            origin=origin,
            same_origins=own_origins(request, settings),
            client=client_hash(settings, request, ip),
            limit=services.public_limits,
        )
    except PlauditError as exc:
        return error_response(exc, await cors.for_refusal(request, services, origin, exc))
    return JSONResponse(
        {"ok": True, "feedback": feedback_json(feedback)}, headers=cors.allow(origin)
    )
