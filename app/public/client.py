"""Who is calling a public route: address, origin, and a privacy-keeping hash."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit

from starlette.requests import Request

from app.settings import Settings


def _ip(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, settings: Settings) -> bool:
    return ip is not None and any(ip in net for net in settings.trusted_proxies)


def client_ip(request: Request, settings: Settings) -> str:
    """The caller's address. X-Forwarded-For is believed only when the direct peer
    is one of PLAUDIT_TRUSTED_PROXIES, and then read right to left, past every
    trusted proxy, to the first address no trusted proxy vouches for."""
    peer = request.client.host if request.client else ""
    if not _trusted(_ip(peer), settings):
        return peer or "unknown"
    forwarded: list[str] = []
    for header in request.headers.getlist("x-forwarded-for"):
        forwarded.extend(part.strip() for part in header.split(",") if part.strip())
    for hop in reversed(forwarded):
        ip = _ip(hop)
        if ip is None:
            break  # garbage: stop here and use the last address we could trust
        if not _trusted(ip, settings):
            return str(ip)
        peer = str(ip)
    return peer or "unknown"


def client_hash(settings: Settings, request: Request, ip: str) -> str:
    """A keyed hash of user agent and address: tells repeat clients apart in
    source_info without storing either."""
    key = (settings.secret_keys[-1] if settings.secret_keys else "plaudit").encode()
    agent = request.headers.get("user-agent", "")
    message = f"{agent}\n{ip}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def request_origin(request: Request) -> str | None:
    """The Origin header, normalised; None when absent (not a browser). A browser's
    ``null`` (a page with no origin of its own) is kept: it is on no allow-list."""
    origin = request.headers.get("origin")
    if not origin or not origin.strip():
        return None
    return origin.strip().lower()


def own_origins(request: Request, settings: Settings) -> tuple[str, ...]:
    """Origins that are this server itself (its public URL and the Host it was
    reached at): pages it serves, like the email-link page, may always post."""
    parts = urlsplit(settings.base_url)
    public = f"{parts.scheme}://{parts.netloc}".lower()
    here = f"{request.url.scheme}://{request.url.netloc}".lower()
    return (public, here)
