"""Reviewer links: review one feedback task without an API key.

An admin makes a link for one task (and optionally a reviewer's name). The link is
the dashboard's review page with a signed token in its fragment:
``<base>/dashboard/review#link=<token>``. The fragment never reaches a server (not
this one's logs, not a proxy's, not a Referer), and the page moves the token into
the tab's sessionStorage and out of the address bar at once. The page then sends
it as ``Authorization: ReviewLink <token>``, a scheme only GraphQL over HTTP reads.

The token is an itsdangerous signature (salt of its own, see app/domain/tokens.py)
over ``{jti, task}``; the record named by ``jti`` holds the expiry and revocation,
checked on every request, so revoking a link takes effect at once.

A link's principal has no role grants. It may only (app/graphql/permissions.py):
read its task, read its own progress, claim and release runs of its task, and
submit reviews of the runs handed to it, all as its reviewer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from app import clock
from app.domain import validation as v
from app.domain.auth import REVIEWER_ROLE, Principal, ReviewScope
from app.domain.tasks.service import get_task
from app.domain.tokens import InvalidToken, TokenExpired, TokenSerializer
from app.errors import BadRequest, Forbidden, NotFound, PlauditError
from app.settings import Settings
from app.store import Stores
from app.store.reviewer_links import ReviewerLink

DEFAULT_LINK_SECONDS = 7 * 24 * 3600
MIN_LINK_SECONDS = 60
# Identities other callers review as: a name on a link may not pose as them.
RESERVED_PREFIXES = ("key:", "link:", "model:", "token:")


class ReviewerLinkRevoked(Forbidden):
    code = "TOKEN_REVOKED"


@dataclass(frozen=True)
class IssuedReviewerLink:
    record: ReviewerLink
    token: str
    url: str


def reviewer_link_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/dashboard/review#link={quote(token, safe='')}"


def _check_reviewer(reviewer: str | None) -> str | None:
    if reviewer is None:
        return None
    v.check_text(reviewer, "reviewer")
    reviewer = reviewer.strip()
    if not reviewer:
        raise BadRequest("reviewer must not be empty (leave it out for no name)", field="reviewer")
    if reviewer.startswith(RESERVED_PREFIXES):
        raise BadRequest(
            f"a reviewer's name may not start with {', '.join(RESERVED_PREFIXES)}",
            field="reviewer",
        )
    return reviewer


def _lifetime(settings: Settings, expires_in: int | None) -> int:
    if expires_in is None:
        return min(DEFAULT_LINK_SECONDS, settings.token_max_ttl)
    if not MIN_LINK_SECONDS <= expires_in <= settings.token_max_ttl:
        raise BadRequest(
            f"expiresIn must be between {MIN_LINK_SECONDS} and {settings.token_max_ttl} "
            "seconds (PLAUDIT_TOKEN_MAX_TTL)",
            field="expiresIn",
        )
    return expires_in


async def create_reviewer_link(
    stores: Stores,
    serializer: TokenSerializer,
    settings: Settings,
    project_id: str,
    task_id: str,
    *,
    reviewer: str | None,
    expires_in: int | None,
    created_by: str,
) -> IssuedReviewerLink:
    """Make a link for reviewing one task; the token is shown once."""
    task = await get_task(stores, project_id, task_id)
    name = _check_reviewer(reviewer)
    now = clock.now()
    record = await stores.reviewer_links.insert(
        {
            "_id": str(uuid.uuid4()),
            "project_id": project_id,
            "task_id": task.id,
            "reviewer": name,
            "expires_at": now + timedelta(seconds=_lifetime(settings, expires_in)),
            "revoked_at": None,
            "created_by": created_by,
            "created_at": now,
        }
    )
    token = serializer.dumps({"jti": record.id, "task": record.task_id})
    return IssuedReviewerLink(record=record, token=token, url=reviewer_link_url(settings, token))


async def revoke_reviewer_link(stores: Stores, project_id: str, link_id: str) -> ReviewerLink:
    link_id = v.check_uuid(link_id, "id")
    record = await stores.reviewer_links.revoke(project_id, link_id, clock.now())
    if record is None:
        raise NotFound(f"reviewer link {link_id} not found", field="id")
    return record


def _refusal(record: ReviewerLink | None, task_id: str, now: datetime) -> PlauditError | None:
    if record is None:
        # Signed by us, so the record existed: the TTL monitor removed it on expiry.
        return TokenExpired("this reviewer link has expired")
    if record.task_id != task_id:
        return InvalidToken("this reviewer link is not valid")
    if record.revoked_at is not None:
        return ReviewerLinkRevoked("this reviewer link has been revoked")
    if record.expires_at <= now:
        return TokenExpired("this reviewer link has expired")
    return None


async def authenticate_reviewer_link(
    stores: Stores, serializer: TokenSerializer, settings: Settings, token: str
) -> Principal:
    """The principal of a reviewer link; InvalidToken, TokenExpired or
    ReviewerLinkRevoked when it may not be used now."""
    if not token or len(token) > 1000:
        raise InvalidToken("this reviewer link is not valid")
    payload = serializer.loads(token, max_age=settings.token_max_ttl)
    jti, task_id = payload.get("jti"), payload.get("task")
    if not isinstance(jti, str) or not isinstance(task_id, str):
        raise InvalidToken("this reviewer link is not valid")
    record = await stores.reviewer_links.by_id(jti)
    refusal = _refusal(record, task_id, clock.now())
    if refusal is not None:
        raise refusal
    assert record is not None
    scope = ReviewScope(
        link_id=record.id,
        task_id=record.task_id,
        reviewer=record.reviewer or f"link:{record.id}",
        user_id=record.reviewer,
    )
    return Principal(
        project_id=record.project_id, key_id=record.id, role=REVIEWER_ROLE, review=scope
    )


def reviewer_identity(principal: Principal, user_id: str | None) -> tuple[str, str | None]:
    """(reviewer, user id) a caller reviews as. An API key reviews as ``user_id``
    (else as the key); a reviewer link only ever as its own reviewer."""
    scope = principal.review
    if scope is None:
        return user_id or principal.label, user_id
    if user_id is not None and user_id != scope.user_id:
        raise Forbidden(f"this reviewer link reviews as {scope.reviewer!r}; leave userId out")
    return scope.reviewer, scope.user_id


async def check_run_handed_to(
    stores: Stores, principal: Principal, task_id: str, run_id: str
) -> None:
    """A reviewer link submits only for runs handed to it: the last lease on the run
    was its own (expired or not: nobody else has claimed it since), or it has
    reviewed the run before (a resubmission). API keys are not limited."""
    scope = principal.review
    if scope is None:
        return
    run_id = v.check_uuid(run_id, "runId")
    state = await stores.review_states.get(principal.project_id, task_id, run_id)
    if state.lease_holder != scope.reviewer and scope.reviewer not in state.reviewers:
        raise Forbidden(
            "this run was not handed to this reviewer link: claim a run with claimReview",
            field="runId",
        )
