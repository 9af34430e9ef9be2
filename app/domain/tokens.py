"""Signed tokens: itsdangerous, one serializer per purpose with its own salt.

A token is a URL-safe, timestamped signature over a small payload (for feedback
tokens: ``{jti, run, key}``; uses, expiry and revocation live in the server-side
record named by ``jti``). Tokens are signed with the newest secret key (the last of
``PLAUDIT_SECRET_KEYS``) and verified against every key, so a key can be rotated
by appending a new one and dropping the old one once its tokens have expired.

Verification always passes ``max_age`` and tells an expired signature
(:class:`TokenExpired`) from a bad one (:class:`InvalidToken`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from app.errors import PlauditError, Unauthenticated

Clock = Callable[[], float]

# One salt per purpose: a token signed for one purpose never verifies for another.
FEEDBACK_TOKEN_SALT = "plaudit.feedback-token.v1"
REVIEWER_LINK_SALT = "plaudit.reviewer-link.v1"


class InvalidToken(Unauthenticated):
    """The token is not one we signed (tampered, truncated, another purpose or key)."""

    code = "INVALID_TOKEN"


class TokenExpired(PlauditError):
    """The token was ours but its time is up."""

    code = "TOKEN_EXPIRED"
    http_status = 410


def _signer_class(clock: Clock) -> type[TimestampSigner]:
    """A TimestampSigner that reads the time from ``clock`` (tests freeze it)."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return ClockedSigner


class TokenSerializer:
    """Sign and verify payloads (JSON objects) for one purpose."""

    def __init__(self, secret_keys: Sequence[str], salt: str, clock: Clock = time.time) -> None:
        if not secret_keys:
            raise ValueError("no secret keys: set PLAUDIT_SECRET_KEYS")
        # itsdangerous signs with the last key and verifies with every key.
        self._serializer = URLSafeTimedSerializer(
            list(secret_keys), salt=salt, signer=_signer_class(clock)
        )

    def dumps(self, payload: dict[str, Any]) -> str:
        token = self._serializer.dumps(payload)
        assert isinstance(token, str)
        return token

    def loads(self, token: str, *, max_age: int) -> dict[str, Any]:
        """The payload, or InvalidToken / TokenExpired."""
        try:
            payload = self._serializer.loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenExpired("this link has expired") from None
        except BadSignature:
            raise InvalidToken("this link is not valid (it may have been cut short)") from None
        if not isinstance(payload, dict):
            raise InvalidToken("this link is not valid")
        return payload


def feedback_token_serializer(
    secret_keys: Sequence[str], clock: Clock = time.time
) -> TokenSerializer:
    return TokenSerializer(secret_keys, FEEDBACK_TOKEN_SALT, clock)


def reviewer_link_serializer(
    secret_keys: Sequence[str], clock: Clock = time.time
) -> TokenSerializer:
    return TokenSerializer(secret_keys, REVIEWER_LINK_SALT, clock)
