"""API keys: random secrets shown once, stored as a SHA-256 hash, with a role."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cachetools import TTLCache

from app.errors import BadRequest, Forbidden, NotFound, Unauthenticated
from app.store import Stores
from app.store.api_keys import ApiKey

Role = Literal["read", "ingest", "admin"]
ROLES: tuple[Role, ...] = ("read", "ingest", "admin")
KEY_PREFIX = "plaudit_"
# A Langfuse-style key pair: a public key (not secret: Langfuse's browser SDK
# ships it) and a secret key, the pair sent as Basic auth. The secret is an
# ordinary Plaudit key with its own prefix, so it works as a Bearer key too.
LANGFUSE_PUBLIC_PREFIX = "pk-lf-"
LANGFUSE_SECRET_PREFIX = "sk-lf-"

# What each role may do. `admin` may do everything. A reviewer link has no grant
# of its own: the few fields it may use check its ReviewScope instead.
REVIEWER_ROLE = "reviewer"
GRANTS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "ingest": frozenset({"ingest"}),
    "admin": frozenset({"read", "ingest", "admin"}),
    REVIEWER_ROLE: frozenset(),
}


def hash_key(secret: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is enough: there is
    # nothing to brute-force that a slow hash would protect.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str = KEY_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ReviewScope:
    """What a reviewer link allows: claiming and submitting reviews of one task, as
    one reviewer (the name on the link, else ``link:<id>``)."""

    link_id: str
    task_id: str
    reviewer: str
    user_id: str | None  # the name on the link, recorded as the reviews' user id


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key of one project, with one role; or a reviewer
    link (role ``reviewer``, ``key_id`` the link's id, ``review`` its scope)."""

    project_id: str
    key_id: str
    role: str
    review: ReviewScope | None = None

    def can(self, grant: str) -> bool:
        return grant in GRANTS.get(self.role, frozenset())

    def require(self, grant: str) -> None:
        if self.can(grant):
            return
        if self.review is not None:
            raise Forbidden("a reviewer link can only claim and submit reviews of its own task")
        raise Forbidden(f"this API key has role {self.role!r}, which cannot {grant}")

    @property
    def label(self) -> str:
        return f"link:{self.key_id}" if self.review is not None else f"key:{self.key_id}"


async def create_key(
    stores: Stores, project_id: str, role: str, name: str = "", *, langfuse: bool = False
) -> tuple[ApiKey, str]:
    """Create a key; returns the record and the secret, which is never stored.
    ``langfuse``: a Langfuse-style pair, the record's ``public_key`` its public half."""
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    secret = new_secret(LANGFUSE_SECRET_PREFIX if langfuse else KEY_PREFIX)
    public_key = LANGFUSE_PUBLIC_PREFIX + secrets.token_urlsafe(16) if langfuse else None
    key = await stores.api_keys.create(
        project_id, role, name, hash_key(secret), secret[:12], public_key
    )
    return key, secret


class KeyCache:
    """A short-lived in-process cache of key lookups, so a request costs no extra
    database round trip. Revocation takes effect within ``ttl`` seconds in other
    processes, and at once in the process that revoked."""

    def __init__(self, ttl: float, timer: Callable[[], float] = time.monotonic) -> None:
        self._entries: TTLCache[str, ApiKey | None] = TTLCache(maxsize=10_000, ttl=ttl, timer=timer)

    def get(self, key_hash: str) -> tuple[bool, ApiKey | None]:
        # One lookup: `in` then `[]` reads the clock twice, and an entry expiring
        # between the two raised KeyError (a 500, about once in 50,000 requests).
        try:
            return True, self._entries[key_hash]
        except KeyError:
            return False, None

    def put(self, key_hash: str, key: ApiKey | None) -> None:
        self._entries[key_hash] = key

    def clear(self) -> None:
        self._entries.clear()


async def _live_key(stores: Stores, cache: KeyCache, secret: str) -> ApiKey:
    if not secret:
        raise Unauthenticated("missing API key")
    key_hash = hash_key(secret)
    hit, key = cache.get(key_hash)
    if not hit:
        key = await stores.api_keys.by_hash(key_hash)
        cache.put(key_hash, key)
    if key is None:
        raise Unauthenticated("invalid API key")
    if key.revoked_at is not None:
        raise Unauthenticated("this API key has been revoked")
    return key


def _principal(key: ApiKey) -> Principal:
    return Principal(project_id=key.project_id, key_id=key.id, role=key.role)


async def authenticate(stores: Stores, cache: KeyCache, secret: str) -> Principal:
    return _principal(await _live_key(stores, cache, secret))


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``Authorization: Basic base64(user:password)`` as (user, password)."""
    encoded = _credential(authorization, "basic")
    if encoded is None:
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("the Basic credentials are not base64 of user:password") from None
    user, colon, password = decoded.partition(":")
    if not colon:
        raise Unauthenticated("the Basic credentials are not base64 of user:password")
    return user, password


async def authenticate_pair(
    stores: Stores, cache: KeyCache, public_key: str, secret: str
) -> Principal:
    """A Langfuse-style key pair: the secret must be a live key whose public half
    is ``public_key``."""
    key = await _live_key(stores, cache, secret)
    if key.public_key is None or not hmac.compare_digest(
        key.public_key.encode(), public_key.encode()
    ):
        raise Unauthenticated(
            "the public key does not belong to this secret key (create a Langfuse key "
            "pair with createApiKey(langfuse: true) or plaudit keys create --langfuse)"
        )
    return _principal(key)


async def public_key_owner(stores: Stores, public_key: str) -> ApiKey:
    """The live key pair whose public half this is (Langfuse's browser SDK sends the
    public key alone; what it may do is decided by the caller, not the key's role)."""
    if not public_key.startswith(LANGFUSE_PUBLIC_PREFIX):
        raise Unauthenticated("a Bearer credential here must be a Langfuse public key (pk-lf-...)")
    key = await stores.api_keys.by_public_key(public_key)
    if key is None:
        raise Unauthenticated("unknown public key")
    if key.revoked_at is not None:
        raise Unauthenticated("this API key has been revoked")
    return key


async def revoke_key(
    stores: Stores, key_id: str, *, project_id: str | None = None, cache: KeyCache | None = None
) -> ApiKey:
    """Revoke a key (of ``project_id``, when given); revoking it again changes
    nothing. ``cache``, this process's, then forgets every lookup at once."""
    key = await stores.api_keys.revoke(key_id, project_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if cache is not None:
        cache.clear()
    return key


def _credential(authorization: str | None, expected: str) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != expected or not value.strip():
        return None
    return value.strip()


def bearer_secret(authorization: str | None) -> str | None:
    return _credential(authorization, "bearer")


# Reviewer links travel in a scheme of their own, so no route that reads API keys
# (Bearer) ever mistakes one for a key; only GraphQL over HTTP reads this one.
REVIEW_LINK_SCHEME = "ReviewLink"


def review_link_secret(authorization: str | None) -> str | None:
    return _credential(authorization, REVIEW_LINK_SCHEME.lower())
