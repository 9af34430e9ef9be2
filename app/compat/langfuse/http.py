"""What every Langfuse-compatible route shares: Langfuse's Basic auth (public
key as the user, secret key as the password) checked against Plaudit's keys."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from app.compat.langsmith.http import services
from app.domain.auth import Principal, authenticate_pair, basic_credentials
from app.domain.feedback import Change
from app.errors import Unauthenticated

MISSING_AUTH = (
    "missing credentials: send Basic auth with a Langfuse-style key pair of a Plaudit "
    "project (LANGFUSE_PUBLIC_KEY as the user, LANGFUSE_SECRET_KEY as the password)"
)


async def principal(request: Request, grant: str) -> Principal:
    """The caller's key pair, with the grant the route needs."""
    credentials = basic_credentials(request.headers.get("authorization"))
    if credentials is None:
        raise Unauthenticated(MISSING_AUTH)
    public_key, secret = credentials
    svc = services(request)
    who = await authenticate_pair(svc.stores, svc.key_cache, public_key, secret)
    who.require(grant)
    return who


@dataclass(frozen=True)
class Caller:
    """Who writes a score: a key pair (any change its role allows), or a browser
    with the public key alone (``public``: create-only, app/compat/langfuse/browser.py)."""

    project_id: str
    change: Change
    public: bool = False


async def secret_caller(request: Request) -> Caller:
    who = await principal(request, "ingest")
    return Caller(who.project_id, Change(by=who.label, via="rest"))
