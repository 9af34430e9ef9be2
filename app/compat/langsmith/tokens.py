"""Presigned feedback tokens, the LangSmith way.

- ``POST /feedback/tokens``: one object or an array of ``{run_id, feedback_key,
  feedback_config?, id?, expires_in: {days, hours, minutes} | expires_at}`` (default
  lifetime ``settings.token_default_ttl``, at most ``token_max_ttl``; an
  ``expires_in`` that adds up to nothing is refused, never lengthened); answers
  ``{id, url, expires_at, feedback_key}`` (an array for an array). ``id`` is the
  token's random URL id and ``url`` ends with it; the body's ``id`` is the id the
  token's feedback record gets. The run may not have arrived yet (its feedback is
  then pending), but may not be another project's. Grant: ingest.
- ``GET /feedback/tokens?run_id=&limit=&offset=``: the run's tokens. Grant: ingest,
  not read: the ids it lists are credentials, and reading must not grant writing.
- ``POST /feedback/tokens/{id}``: no API key (the SDK sends one anyway; it is
  ignored). Records ``{score, value, correction, comment, metadata}`` under every
  Plaudit token rule: expiry, revocation, max uses, one record per token (a second
  submission changes it), rate limits, and the origin rule for a browser page (its
  origin must be listed on the project; ``null`` is refused). A null field is a
  field not given (the SDK sends every field, null when unset): a comment after a
  vote keeps the vote. ``metadata`` goes to the record's source info (LangSmith's
  ``feedback_source.metadata``). JSON only (415 otherwise), as the SDK sends: no
  page elsewhere can post without a preflight. CORS as for the widget's routes
  (app/public/cors.py): ``OPTIONS`` answers the preflight.
- ``GET /feedback/tokens/{id}``: does NOT record, unlike LangSmith. Mail scanners
  open every link in a message, so a GET answers 303 to Plaudit's email page for the
  token, where the person confirms with a POST (a deliberate, documented difference).

As in LangSmith, the UUID in the URL is the capability. Only tokens created here
accept it; Plaudit's own tokens need their signature. It is not the token's record
id, which readers see (GraphQL ``feedbackTokens``, the feedback's ``token_id``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from app.compat.langsmith.feedback import register_from_config
from app.compat.langsmith.http import (
    endpoint,
    error_response,
    iso,
    json_body,
    parse_time,
    principal,
    query_int,
    route,
    services,
    validator,
)
from app.domain import validation as v
from app.domain.feedback_tokens import (
    SUBMISSION_FIELDS,
    Claims,
    IssuedToken,
    Submission,
    TokenRequest,
    create_tokens,
    email_url,
    open_token,
    submit_feedback,
)
from app.domain.tokens import InvalidToken
from app.errors import BadRequest, Forbidden, NotFound, PlauditError
from app.public import cors
from app.public.client import client_hash, client_ip, own_origins, request_origin
from app.public.content_types import require_json
from app.store.feedback import Feedback
from app.store.feedback_tokens import FeedbackToken

EXPIRES_IN = {
    "type": "object",
    "properties": {k: {"type": "number", "minimum": 0} for k in ("days", "hours", "minutes")},
}
ONE = {
    "type": "object",
    "required": ["run_id", "feedback_key"],
    "properties": {
        "run_id": {"type": "string"},
        "feedback_key": {"type": "string"},
        "feedback_config": {"type": ["object", "null"]},
        "expires_in": {"anyOf": [EXPIRES_IN, {"type": "null"}]},
        "expires_at": {"type": ["string", "null"]},
        "id": {"type": ["string", "null"]},
    },
}
CREATE = validator({"anyOf": [ONE, {"type": "array", "items": ONE, "maxItems": v.MAX_BATCH}]})
SUBMIT = validator(
    {
        "type": "object",
        "properties": {
            "score": {"type": ["number", "boolean", "null"]},
            "value": {},
            "correction": {},
            "comment": {"type": ["string", "null"]},
            "metadata": {"type": ["object", "null"]},
        },
    }
)


def _token_url(request: Request, record: FeedbackToken) -> str:
    settings = services(request).settings
    return f"{settings.base_url}/api/v1/feedback/tokens/{record.url_id or record.id}"


def _json(request: Request, record: FeedbackToken) -> dict[str, Any]:
    return {
        "id": record.url_id or record.id,  # (Plaudit's signed tokens have no URL id)
        "url": _token_url(request, record),
        "expires_at": iso(record.expires_at),
        "feedback_key": record.key,
    }


def _lifetime(expires_in: dict[str, Any]) -> int:
    """``{days, hours, minutes}`` in whole seconds. Nothing at all is refused, not
    replaced by the default: the Python SDK sends a timedelta under a minute as
    zeros, and a token that quietly lives 3 hours instead is worse than an error."""
    seconds = int(
        timedelta(
            days=expires_in.get("days") or 0,
            hours=expires_in.get("hours") or 0,
            minutes=expires_in.get("minutes") or 0,
        ).total_seconds()
    )
    if seconds < 1:
        raise BadRequest(
            "expires_in adds up to no time at all; give at least one minute, or give "
            "expires_at (the Python SDK sends a timedelta under a minute as zero "
            "minutes: pass a datetime to expire sooner)",
            field="expires_in",
        )
    return seconds


def _request(body: dict[str, Any]) -> TokenRequest:
    expires_in = body.get("expires_in")
    expires_at = body.get("expires_at")
    feedback_id = body.get("id")
    return TokenRequest(
        run_id=body["run_id"],
        key=body["feedback_key"],
        expires_in=_lifetime(expires_in) if expires_in is not None else None,
        expires_at=parse_time(expires_at, "expires_at") if expires_at else None,
        feedback_id=v.check_uuid(feedback_id, "id") if feedback_id is not None else None,
        usable_by_url=True,
    )


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "ingest")
    body = await json_body(request, CREATE)
    items = body if isinstance(body, list) else [body]
    for item in items:
        await register_from_config(request, who, {**item, "key": item["feedback_key"]})
    svc = services(request)
    issued: list[IssuedToken] = await create_tokens(
        svc.stores,
        svc.feedback_tokens,
        svc.settings,
        who.project_id,
        [_request(item) for item in items],
        created_by=who.label,
    )
    answers = [_json(request, token.record) for token in issued]
    return JSONResponse(answers if isinstance(body, list) else answers[0])


@endpoint
async def list_(request: Request) -> Response:
    try:
        who = await principal(request, "ingest")
    except Forbidden:
        raise Forbidden(
            "listing presigned feedback tokens takes an ingest or admin key: "
            "their ids are credentials that record feedback"
        ) from None
    run_id = request.query_params.get("run_id")
    if not run_id:
        raise BadRequest("run_id is required")
    records = await services(request).stores.feedback_tokens.list_for_run(
        who.project_id,
        v.check_uuid(run_id, "run_id"),
        query_int(request, "limit", 100, 1, 100),
        query_int(request, "offset", 0, 0, 1_000_000),
    )
    return JSONResponse([_json(request, r) for r in records])


async def _usable_record(request: Request) -> FeedbackToken:
    token_id = request.path_params["token_id"]
    try:
        token_id = v.check_uuid(token_id, "token")
    except BadRequest:
        raise InvalidToken("this link is not valid") from None
    record = await services(request).stores.feedback_tokens.get_by_url_id(token_id)
    if record is None:
        raise NotFound("no such feedback token")
    return record


@endpoint
async def submit(request: Request) -> Response:
    """Errors a page may read carry CORS headers too, as on the widget's route."""
    svc = services(request)
    origin = request_origin(request)
    try:
        feedback = await _submit(request, origin)
    except PlauditError as exc:
        return error_response(exc, await cors.for_refusal(request, svc, origin, exc))
    return JSONResponse(
        {"id": feedback.id, "run_id": feedback.run_id, "key": feedback.key},
        headers=cors.allow(origin),
    )


async def _submit(request: Request, origin: str | None) -> Feedback:
    svc = services(request)
    ip = client_ip(request, svc.settings)
    await svc.public_limits.hit_ip(ip)
    require_json(request)
    record = await _usable_record(request)
    body = await json_body(request, SUBMIT)
    fields = {k: body[k] for k in SUBMISSION_FIELDS if body.get(k) is not None}
    if "comment" in fields:
        v.check_text(fields["comment"], "comment", svc.settings.public_max_comment_chars)
    claims = Claims(jti=record.id, run_id=record.run_id, key=record.key)
    _, feedback = await submit_feedback(
        svc.stores,
        claims,
        Submission(fields, metadata=body.get("metadata")),
        via="rest",
        source_type="app",
        origin=origin,
        same_origins=own_origins(request, svc.settings),
        client=client_hash(svc.settings, request, ip),
        limit=svc.public_limits,
    )
    return feedback


@endpoint
async def confirm_page(request: Request) -> Response:
    """A GET records nothing: send the person to the email page to confirm."""
    svc = services(request)
    record = await _usable_record(request)
    await open_token(svc.stores, Claims(jti=record.id, run_id=record.run_id, key=record.key))
    signed = svc.feedback_tokens.dumps({"jti": record.id, "run": record.run_id, "key": record.key})
    score = request.query_params.get("score")
    try:
        chosen = float(score) if score is not None else None
    except ValueError:
        chosen = None
    # A relative Location: the page is on this server, whatever PLAUDIT_PUBLIC_URL says.
    page = email_url(svc.settings, signed, chosen).removeprefix(svc.settings.base_url)
    return RedirectResponse(page, status_code=303)


def token_routes() -> list[BaseRoute]:
    return [
        route("/feedback/tokens", GET=list_, POST=create),
        route("/feedback/tokens/{token_id}", GET=confirm_page, POST=submit, OPTIONS=cors.preflight),
    ]
