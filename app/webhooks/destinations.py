"""Where webhooks may post.

By default not to this machine or a private network: loopback, RFC 1918 and other
private ranges, link-local (cloud metadata services live at 169.254.169.254),
shared, reserved, unspecified and multicast addresses are refused. Otherwise an
admin could have the server make requests inside its own network (SSRF) and read
the outcome from the delivery log. ``PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true``
lifts this, for receivers on the same network as Plaudit.

Checked twice: when a webhook is created (a literal address or ``localhost``; no
DNS lookup on the request path), and before every delivery, on every address the
host name resolves to. The second check resolves separately from the HTTP client,
so a DNS server answering differently a moment later (DNS rebinding) is not ruled
out; a deployment that must rule it out should also block private ranges in its
egress firewall."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from app.errors import BadRequest

SETTING = "PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS"


class DestinationNotAllowed(BadRequest):
    code = "WEBHOOK_DESTINATION_NOT_ALLOWED"


def public(address: IPv4Address | IPv6Address) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def refusal(host: str, address: str) -> DestinationNotAllowed:
    return DestinationNotAllowed(
        f"webhooks may not post to {host} ({address}): it is not a public address "
        f"(set {SETTING}=true to allow private networks)",
        field="url",
    )


def check_host(host: str) -> None:
    """At creation: refuse a literal non-public address, and localhost."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise refusal(host, "loopback")
    try:
        address = ip_address(name)
    except ValueError:
        return  # a name: checked on its resolved addresses before each delivery
    if not public(address):
        raise refusal(host, str(address))


async def check_resolved(url: str) -> None:
    """Before a delivery: every address the URL's host resolves to must be public.
    A name that does not resolve passes (the request then fails by itself)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    check_host(host)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return
    for info in infos:
        address = ip_address(str(info[4][0]).split("%")[0])
        if not public(address):
            raise refusal(host, str(address))
