"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<body>"``.

Every delivery carries ``Plaudit-Signature: t=<unix seconds>,v1=<hex digest>``.
A receiver recomputes the digest with the webhook's secret over the timestamp, a
dot and the raw request body, compares in constant time, and rejects timestamps
older than a few minutes (replays). :func:`verify` does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Plaudit-Signature"
EVENT_HEADER = "Plaudit-Event"
DELIVERY_HEADER = "Plaudit-Delivery"
DEFAULT_TOLERANCE_SECONDS = 300


def digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for ``body``."""
    at = int(time.time()) if timestamp is None else timestamp
    return f"t={at},v1={digest(secret, at, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid, recent signature of ``body``."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))
