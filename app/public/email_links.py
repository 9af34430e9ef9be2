"""Email links: ``/f/<token>?score=1`` shows a page; only its form's POST records.

Mail scanners (Safe Links, Proofpoint, Mimecast) open every link in a message, so
GET and HEAD never record anything: they render the question with the answer from
the link preselected, an optional comment box and a submit button. No JavaScript is
needed. The form posts back to the same URL, which records (same rules as the
public API) and shows a confirmation where the answer can be changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.decoding import INT64_MAX, INT64_MIN, decode_form, parse_number
from app.domain.feedback_question import NUMBER, Question, token_question
from app.domain.feedback_tokens import Submission, open_token, read_claims, submit_feedback
from app.errors import BadRequest, PlauditError, error_headers
from app.public.client import client_hash, client_ip, own_origins, request_origin
from app.public.feedback import check_comment
from app.public.responses import read_body
from app.services import Services

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("app.public", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)

# The page holds the token in its URL: never send it on as a Referer, never cache
# it, keep it out of search engines; and the page needs no script at all.
# "same-origin", not "no-referrer": under no-referrer a browser posts the page's own
# form with ``Origin: null``, which the token rules refuse (a sandboxed frame
# elsewhere sends the same); same-origin keeps the real origin on that post and
# still sends no Referer to any other site.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

ERROR_TITLES = {
    "INVALID_TOKEN": "This link is not valid",
    "TOKEN_EXPIRED": "This link has expired",
    "TOKEN_REVOKED": "This link has been withdrawn",
    "TOKEN_USED_UP": "This link has been used up",
    "RATE_LIMITED": "Too many requests",
}


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class NumberInput:
    min: str | None
    max: str | None
    value: str


def parse_score(raw: str | None) -> float | int | None:
    """A score from a query or form field; None when empty. Numbers follow the JSON
    rule (app/decoding.py); a whole float that fits is an int (``1.0`` is 1)."""
    if raw is None or not raw.strip():
        return None
    score = parse_number(raw, "score")
    if isinstance(score, float) and score.is_integer() and INT64_MIN <= score < INT64_MAX:
        return int(score)
    return score


def _g(value: float) -> str:
    return f"{value:g}"


def render_page(
    question: Question,
    action: str,
    *,
    score: Any,
    comment: str,
    max_comment: int,
    recorded: bool,
    status_code: int = 200,
) -> HTMLResponse:
    options, number = [], None
    if question.kind == NUMBER:
        number = NumberInput(
            min=None if question.min is None else _g(question.min),
            max=None if question.max is None else _g(question.max),
            value="" if score is None else _g(float(score)),
        )
    else:
        options = [
            Option(_g(c.score), c.label, score is not None and float(score) == c.score)
            for c in question.choices
        ]
    html = TEMPLATES.get_template("feedback_page.html").render(
        title=question.prompt,
        question=question.prompt,
        action=action,
        options=options,
        number=number,
        comment=comment,
        max_comment=max_comment,
        recorded=recorded,
        chosen=question.label_of(score) if recorded else None,
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def error_page(exc: PlauditError) -> HTMLResponse:
    title = ERROR_TITLES.get(exc.code, "Your answer could not be recorded")
    html = TEMPLATES.get_template("error_page.html").render(title=title, message=exc.message)
    return HTMLResponse(
        html, status_code=exc.http_status, headers={**PAGE_HEADERS, **error_headers(exc)}
    )


def _action(token: str) -> str:
    return f"/f/{quote(token, safe='')}"


async def show_page(request: Request) -> Response:
    """GET and HEAD: render only. Reads the token record; writes nothing at all."""
    services: Services = request.app.state.services
    token = request.path_params["token"]
    try:
        claims = read_claims(services.feedback_tokens, services.settings, token)
        record = await open_token(services.stores, claims)
    except PlauditError as exc:
        return error_page(exc)
    try:
        score = parse_score(request.query_params.get("score"))
    except BadRequest:
        score = None  # a mangled link still shows the page, with nothing chosen
    return render_page(
        await token_question(services.stores, record),
        _action(token),
        score=score,
        comment="",
        max_comment=services.settings.public_max_comment_chars,
        recorded=False,
    )


async def submit_form(request: Request) -> Response:
    """POST (form-encoded ``score``, ``comment``): record, then confirm."""
    services: Services = request.app.state.services
    settings = services.settings
    token = request.path_params["token"]
    try:
        ip = client_ip(request, settings)
        await services.public_limits.hit_ip(ip)
        body = await read_body(request, settings.public_max_body_bytes)
        form = decode_form(body, max_fields=10)
        raw_score = form.get("score", [None])[0]
        raw_comment = form.get("comment", [None])[0]
        score = parse_score(raw_score)
        fields: dict[str, Any] = {}
        if score is not None:
            fields["score"] = score
        if raw_comment is not None:
            fields["comment"] = check_comment(raw_comment.strip() or None, settings)
        claims = read_claims(services.feedback_tokens, settings, token)
        record, feedback = await submit_feedback(
            services.stores,
            claims,
            Submission(fields),
            via="email",
            origin=request_origin(request),
            same_origins=own_origins(request, settings),
            client=client_hash(settings, request, ip),
            limit=services.public_limits,
        )
    except PlauditError as exc:
        return error_page(exc)
    return render_page(
        await token_question(services.stores, record),
        _action(token),
        score=feedback.score,
        comment=feedback.comment or "",
        max_comment=settings.public_max_comment_chars,
        recorded=True,
    )
