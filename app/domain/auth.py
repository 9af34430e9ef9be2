"""API keys: random secrets shown once, stored as a SHA-256 hash, with a role."""

from __future__ import annotations

import hashlib
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


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


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
    stores: Stores, project_id: str, role: str, name: str = ""
) -> tuple[ApiKey, str]:
    """Create a key; returns the record and the secret, which is never stored."""
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    secret = new_secret()
    key = await stores.api_keys.create(project_id, role, name, hash_key(secret), secret[:12])
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


async def authenticate(stores: Stores, cache: KeyCache, secret: str) -> Principal:
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
    return Principal(project_id=key.project_id, key_id=key.id, role=key.role)


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
