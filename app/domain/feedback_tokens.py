"""Presigned feedback tokens: issue, revoke, and record feedback through one.

A token lets an end user give feedback on one run and key without an API key: from
the widget inside someone else's product, or from a link in an email. The signed
token carries ``{jti, run, key}``; the record named by ``jti`` holds the expiry,
the use limit and revocation, and a use is taken atomically when feedback is sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape as escape_html
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from app import clock
from app.domain import validation as v
from app.domain.feedback import Change, FeedbackWrite, create_feedback
from app.domain.feedback_keys import check_key_name
from app.domain.feedback_question import THUMBS, Choice, Question
from app.domain.missing import MISSING
from app.domain.tokens import InvalidToken, TokenExpired, TokenSerializer
from app.errors import BadRequest, Conflict, Forbidden, NotFound, PlauditError
from app.settings import Settings
from app.store import Stores
from app.store.feedback import Feedback
from app.store.feedback_tokens import FeedbackToken
from app.store.rate_limits import Quota

MAX_USES_LIMIT = 1_000_000
MAX_ORIGINS = 20
MAX_PROMPT_CHARS = 500


class TokenRevoked(Forbidden):
    code = "TOKEN_REVOKED"


class TokenUsedUp(Conflict):
    code = "TOKEN_USED_UP"


class OriginNotAllowed(Forbidden):
    code = "ORIGIN_NOT_ALLOWED"


@dataclass
class TokenRequest:
    """One token to issue: for one run and one feedback key."""

    run_id: str
    key: str
    expires_in: int | None = None  # seconds
    expires_at: datetime | None = None
    max_uses: int | None = None
    allowed_origins: list[str] = field(default_factory=list)
    end_user_id: str | None = None
    # The question to ask (the widget and the email page); else the key's description.
    prompt: str | None = None
    # The id the token's feedback record gets (LangSmith's feedback_id).
    feedback_id: str | None = None
    # LangSmith-style: a random id in the token's URL alone may be used to submit,
    # as LangSmith's presigned URLs allow. It is not the record id (which readers
    # see in listings and in the feedback's source), so reading never grants
    # writing. Off for Plaudit's signed tokens.
    usable_by_url: bool = False


@dataclass(frozen=True)
class Claims:
    """What a valid signature says: which record, for which run and key."""

    jti: str
    run_id: str
    key: str


@dataclass(frozen=True)
class IssuedToken:
    record: FeedbackToken
    token: str
    widget_script_url: str
    email_url: str

    @property
    def widget_snippet(self) -> str:
        # Tokens are URL-safe base64 plus "." and "-"/"_": nothing to escape in HTML.
        return f'<script src="{self.widget_script_url}" data-token="{self.token}"></script>'


THUMB_ICONS = {"Yes": "\U0001f44d ", "No": "\U0001f44e "}


@dataclass(frozen=True)
class ChoiceLink:
    """One answer's link: it opens the email page with that answer preselected."""

    label: str
    score: float
    url: str


@dataclass(frozen=True)
class EmailLinks:
    """The links for an email: one per answer the token's question offers."""

    token: str
    question: Question
    choices: list[ChoiceLink]
    page_url: str

    def _link(self, choice: Choice | None) -> str | None:
        if choice is None:
            return None
        return next(link.url for link in self.choices if link.score == choice.score)

    @property
    def up_url(self) -> str | None:
        """The best answer's link (Yes for thumbs); None when nothing is offered."""
        return self._link(self.question.best)

    @property
    def down_url(self) -> str | None:
        return self._link(self.question.worst)

    def _shown(self, link: ChoiceLink) -> str:
        icon = THUMB_ICONS.get(link.label, "") if self.question.kind == THUMBS else ""
        return icon + link.label

    @property
    def html(self) -> str:
        prompt = escape_html(self.question.prompt)
        if not self.choices:
            return f'<p>{prompt} <a href="{escape_html(self.page_url)}">Answer</a></p>'
        links = " &nbsp; ".join(
            f'<a href="{escape_html(link.url)}">{escape_html(self._shown(link))}</a>'
            for link in self.choices
        )
        return f"<p>{prompt} {links}</p>"

    @property
    def text(self) -> str:
        if not self.choices:
            return f"{self.question.prompt}\nAnswer: {self.page_url}\n"
        lines = [f"{link.label}: {link.url}" for link in self.choices]
        return "\n".join([self.question.prompt, *lines]) + "\n"


def widget_script_url(settings: Settings) -> str:
    return f"{settings.base_url}/widget.js"


def email_url(settings: Settings, token: str, score: float | None = None) -> str:
    url = f"{settings.base_url}/f/{quote(token, safe='')}"
    if score is not None:
        url += "?" + urlencode({"score": f"{score:g}"})
    return url


def email_links(settings: Settings, token: str, question: Question) -> EmailLinks:
    """One link per answer the question offers, and the page without one."""
    return EmailLinks(
        token=token,
        question=question,
        choices=[
            ChoiceLink(c.label, c.score, email_url(settings, token, c.score))
            for c in question.choices
        ],
        page_url=email_url(settings, token),
    )


def check_origin(origin: str) -> str:
    """A web origin: scheme://host[:port], lower-cased."""
    v.check_text(origin, "allowedOrigins", 300)
    origin = origin.strip().lower()
    scheme, sep, rest = origin.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
        raise BadRequest(
            f"{origin!r} is not an origin: use scheme://host[:port], with no path",
            field="allowedOrigins",
        )
    return origin


def _expiry(settings: Settings, request: TokenRequest, now: datetime) -> datetime:
    if request.expires_in is not None and request.expires_at is not None:
        raise BadRequest("give expiresIn or expiresAt, not both", field="expiresIn")
    if request.expires_at is not None:
        at = request.expires_at
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        seconds = (at - now).total_seconds()
    else:
        seconds = (
            request.expires_in if request.expires_in is not None else settings.token_default_ttl
        )
        at = now + timedelta(seconds=seconds)
    if seconds < 1:
        raise BadRequest("a token must expire in the future", field="expiresIn")
    if seconds > settings.token_max_ttl:
        raise BadRequest(
            f"a token can live at most {settings.token_max_ttl} seconds (PLAUDIT_TOKEN_MAX_TTL)",
            field="expiresIn",
        )
    # As the database keeps it (whole milliseconds): the time a token is issued
    # with is the time it is listed with.
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000)


async def create_tokens(
    stores: Stores,
    serializer: TokenSerializer,
    settings: Settings,
    project_id: str,
    requests: list[TokenRequest],
    created_by: str,
) -> list[IssuedToken]:
    """Issue one token per request. A run must belong to the project or be one no
    project has yet (its feedback is then pending until it arrives)."""
    if not requests:
        raise BadRequest("no tokens requested")
    if len(requests) > v.MAX_BATCH:
        raise BadRequest(f"at most {v.MAX_BATCH} tokens per call, got {len(requests)}")
    now = clock.now()
    docs: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for request in requests:
        run_id = v.check_uuid(request.run_id, "runId")
        check_key_name(request.key)
        if (run_id, request.key) in seen:
            raise BadRequest(
                f"run {run_id} and key {request.key!r} appear twice; one token per run and key"
            )
        seen.add((run_id, request.key))
        if request.max_uses is not None and not 1 <= request.max_uses <= MAX_USES_LIMIT:
            raise BadRequest(f"maxUses must be between 1 and {MAX_USES_LIMIT}", field="maxUses")
        if len(request.allowed_origins) > MAX_ORIGINS:
            raise BadRequest(f"at most {MAX_ORIGINS} allowed origins", field="allowedOrigins")
        v.check_text(request.end_user_id, "endUserId")
        v.check_text(request.prompt, "prompt", MAX_PROMPT_CHARS)
        feedback_id = None
        if request.feedback_id is not None:
            feedback_id = v.check_uuid(request.feedback_id, "feedbackId")
            if await stores.feedback.get_any_project(feedback_id) is not None:
                raise Conflict(f"feedback id {feedback_id} is already used", field="feedbackId")
        docs.append(
            {
                "_id": str(uuid.uuid4()),
                "project_id": project_id,
                "run_id": run_id,
                "key": request.key,
                "expires_at": _expiry(settings, request, now),
                "uses": 0,
                "max_uses": request.max_uses,
                "revoked_at": None,
                "allowed_origins": sorted({check_origin(o) for o in request.allowed_origins}),
                "end_user_id": request.end_user_id,
                **({"prompt": request.prompt} if request.prompt else {}),
                **({"feedback_id": feedback_id} if feedback_id is not None else {}),
                **({"url_id": str(uuid.uuid4())} if request.usable_by_url else {}),
                "created_by": created_by,
                "created_at": now,
            }
        )
    owners = await stores.runs.owners([d["run_id"] for d in docs])
    for doc in docs:
        if owners.get(doc["run_id"], project_id) != project_id:
            raise NotFound(f"run {doc['run_id']} not found", field="runId")
    records = await stores.feedback_tokens.insert_many(docs)
    issued = []
    for record in records:
        token = serializer.dumps({"jti": record.id, "run": record.run_id, "key": record.key})
        issued.append(
            IssuedToken(
                record=record,
                token=token,
                widget_script_url=widget_script_url(settings),
                email_url=email_url(settings, token),
            )
        )
    return issued


async def revoke_token(stores: Stores, project_id: str, token_id: str) -> FeedbackToken:
    token_id = v.check_uuid(token_id, "id")
    record = await stores.feedback_tokens.revoke(project_id, token_id, clock.now())
    if record is None:
        raise NotFound(f"feedback token {token_id} not found")
    return record


def read_claims(serializer: TokenSerializer, settings: Settings, token: str) -> Claims:
    """Check the signature (no database); InvalidToken or TokenExpired."""
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise InvalidToken("this link is not valid")
    payload = serializer.loads(token, max_age=settings.token_max_ttl)
    jti, run_id, key = payload.get("jti"), payload.get("run"), payload.get("key")
    if not all(isinstance(x, str) for x in (jti, run_id, key)):
        raise InvalidToken("this link is not valid")
    assert isinstance(jti, str) and isinstance(run_id, str) and isinstance(key, str)
    return Claims(jti=jti, run_id=run_id, key=key)


def _refusal(record: FeedbackToken | None, claims: Claims, now: datetime) -> PlauditError | None:
    """Why a token cannot be used now, or None when it can."""
    if record is None:
        # Signed by us, so the record existed: the TTL monitor removed it on expiry.
        return TokenExpired("this link has expired")
    if record.run_id != claims.run_id or record.key != claims.key:
        return InvalidToken("this link is not valid")
    if record.revoked_at is not None:
        return TokenRevoked("this link has been withdrawn")
    if record.expires_at <= now:
        return TokenExpired("this link has expired")
    if record.max_uses is not None and record.uses >= record.max_uses:
        return TokenUsedUp("this link has been used as many times as it allows")
    return None


async def open_token(stores: Stores, claims: Claims) -> FeedbackToken:
    """The token's record if it could be used now. Reads only; takes no use."""
    record = await stores.feedback_tokens.get(claims.jti)
    now = clock.now()
    error = _refusal(record, claims, now)
    if error is not None:
        raise error
    assert record is not None
    return record


async def origin_allowed(stores: Stores, record: FeedbackToken, origin: str) -> bool:
    """Whether a page on ``origin`` may use this token: the origin is listed on the
    token or on its project."""
    origin = origin.lower()
    if origin in record.allowed_origins:
        return True
    project = await stores.projects.get_cached(record.project_id)
    return project is not None and origin in project.allowed_origins


NULL_ORIGIN = "null"


async def check_page_origin(
    stores: Stores,
    record: FeedbackToken,
    origin: str | None,
    same_origins: tuple[str, ...],
    what: str = "feedback",
) -> None:
    """Refuse a browser page that may not use this token: OriginNotAllowed.

    ``origin`` is the Origin header, None when there is none: not a browser (curl,
    a server), which passes. A page may use the token when it is this server
    (``same_origins``) or its origin is listed on the token or its project. A
    browser sends ``null`` from a page with no origin of its own (a sandboxed
    iframe, a ``data:`` URL, a form on a page whose referrer policy hides its
    origin): it names no site, so no allow-list can hold it, and it is refused."""
    if origin is None:
        return
    origin = origin.lower()
    if origin == NULL_ORIGIN:
        raise OriginNotAllowed(
            f"null origins are not allowed: {what} must come from a page on an allowed "
            "origin (not a sandboxed iframe or a data: URL), or from a server"
        )
    if origin in same_origins or await origin_allowed(stores, record, origin):
        return
    raise OriginNotAllowed(f"the origin {origin} may not send {what} with this token")


async def origin_listed_anywhere(stores: Stores, origin: str) -> bool:
    """For CORS preflight, which carries no token: is the origin configured on any
    project or live token? (The real request is then checked against its token.)"""
    origin = origin.lower()
    if await stores.projects.origin_is_listed(origin):
        return True
    return await stores.feedback_tokens.origin_is_listed(origin, clock.now())


SUBMISSION_FIELDS = ("score", "value", "comment", "correction")


@dataclass
class Submission:
    """Feedback sent with a token: only the fields the sender gave (a subset of
    SUBMISSION_FIELDS). Fields left out keep their stored value, and so does a
    null score: it means "no score given", never a withdrawal. ``retract``
    withdraws the vote, explicitly. ``metadata`` (LangSmith's) is kept in the
    record's source info, beside Plaudit's own entries."""

    fields: dict[str, Any] = field(default_factory=dict)
    retract: bool = False
    metadata: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.fields) - set(SUBMISSION_FIELDS)
        if unknown:
            raise BadRequest(f"unknown field {sorted(unknown)[0]!r}")
        if self.fields.get("score", MISSING) is None:
            del self.fields["score"]


class TokenRateLimit(Protocol):
    """The per-token rate limit (app/domain/rate_limits.py)."""

    def token_quota(self) -> Quota: ...

    async def hit_token(self, token_id: str) -> None: ...


async def submit_feedback(
    stores: Stores,
    claims: Claims,
    submission: Submission,
    *,
    via: str,
    origin: str | None,
    same_origins: tuple[str, ...],
    client: str,
    limit: TokenRateLimit,
    source_type: str | None = None,
) -> tuple[FeedbackToken, Feedback]:
    """Record feedback through a token, taking one use atomically, within the
    token's rate limit.

    The rate limit costs no write of its own where it can: a token without a use
    limit (the widget's) writes one feedback record, so the feedback write counts
    the change in that record (``limit.token_quota()``). A token with a use limit
    is counted before its use is taken (``limit.hit_token``), so a request over
    the rate limit neither holds a use nor reads as "used up" to the others.

    ``origin`` is the browser's Origin header (None when not sent); a page that
    may not use the token is refused (``check_page_origin``), as is a used-up,
    revoked or expired token. A vote through the same token is an upsert on the token's
    identity (or its end user): the last vote wins."""
    now = clock.now()
    # A token this process has just seen has probably voted already (a flip, a
    # comment after the vote): its change tries the update first. Otherwise it is
    # most likely a first vote, which tries the insert first. A wrong guess costs
    # one more round trip, never a second record (the natural key is unique).
    voted_recently = stores.feedback_tokens.recently_seen(claims.jti)
    # From the cache (a cached "no such token" is read afresh: it may be new).
    token = await stores.feedback_tokens.get_cached(claims.jti)
    token = token or await stores.feedback_tokens.get(claims.jti)
    record: FeedbackToken | None = token
    quota: Quota | None = None
    if token is not None and token.max_uses is None:
        # No use to count: the checks need no write (revocation via the cache).
        refusal = _refusal(token, claims, now)
        if refusal is not None:
            raise refusal
        quota = limit.token_quota()
    elif token is not None:
        await limit.hit_token(token.id)
        record = await stores.feedback_tokens.take_use(token, now)
    if record is None:
        current = await stores.feedback_tokens.get(claims.jti)
        raise _refusal(current, claims, now) or Conflict("this link cannot be used now; retry")
    try:
        if record.run_id != claims.run_id or record.key != claims.key:
            raise InvalidToken("this link is not valid")
        await check_page_origin(stores, record, origin, same_origins)
        write = FeedbackWrite(
            run_id=record.run_id,
            key=record.key,
            **submission.fields,
            source_type=source_type or via,
            source_info={**(submission.metadata or {}), "client": client, "token_id": record.id},
            user_id=record.end_user_id,
            identity=None if record.end_user_id else f"token:{record.id}",
            new_id=record.feedback_id,
            merge_source_info=True,
            retract=submission.retract,
        )
        feedback, _ = await create_feedback(
            stores,
            record.project_id,
            write,
            Change(by=f"token:{record.id}", via=via),
            update_first=voted_recently,
            quota=quota,
        )
    except PlauditError:
        if record.max_uses is not None:
            await stores.feedback_tokens.give_back(record.id)
        raise
    return record, feedback
