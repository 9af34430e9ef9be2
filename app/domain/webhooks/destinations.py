"""Where webhooks may post.

By default not to this machine or a private network: loopback, RFC 1918 and other
private ranges, link-local (cloud metadata services live at 169.254.169.254),
shared, reserved, unspecified and multicast addresses are refused. Otherwise an
admin could have the server make requests inside its own network (SSRF) and read
the outcome from the delivery log. ``PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true``
lifts this, for receivers on the same network as Plaudit.

Checked twice, by the same rule: when a webhook is created (a literal address or
``localhost``; no DNS lookup on the request path), and before every delivery, on
the literal address again and on every address the host name resolves to. A literal
address is read as browsers and the C library read it (``host_address``), so
``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` and
``[::ffff:127.0.0.1]`` are all 127.0.0.1, and refused. The second check resolves
separately from the HTTP client, so a DNS server answering differently a moment
later (DNS rebinding) is not ruled out; a deployment that must rule it out should
also block private ranges in its egress firewall."""

from __future__ import annotations

import asyncio
import re
import socket
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from app.errors import BadRequest

SETTING = "PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS"


class DestinationNotAllowed(BadRequest):
    code = "WEBHOOK_DESTINATION_NOT_ALLOWED"


Address = IPv4Address | IPv6Address

HEX = re.compile(r"0x[0-9a-f]*")
OCTAL = re.compile(r"0[0-7]*")
DECIMAL = re.compile(r"[1-9][0-9]*")


def public(address: Address) -> bool:
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return public(address.ipv4_mapped)
        # 6to4 carries an IPv4 address; ::/8 (IPv4-compatible, NAT64's 64:ff9b::)
        # and the old site-local fec0::/10 are reserved or private in effect.
        if address.sixtofour is not None and not public(address.sixtofour):
            return False
        if address.is_reserved or address.is_site_local:
            return False
    return address.is_global and not address.is_multicast


def refusal(host: str, address: str) -> DestinationNotAllowed:
    return DestinationNotAllowed(
        f"webhooks may not post to {host} ({address}): it is not a public address "
        f"(set {SETTING}=true to allow private networks)",
        field="url",
    )


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 address: decimal, octal (leading 0) or hex (0x)."""
    if HEX.fullmatch(part):
        return int(part[2:] or "0", 16)
    if OCTAL.fullmatch(part):
        return int(part, 8)
    if DECIMAL.fullmatch(part):
        return int(part)
    return None


def _ipv4(host: str, labels: list[str]) -> IPv4Address:
    """1 to 4 numbers; all but the last are one byte, the last fills the rest
    (``127.1`` is 127.0.0.1, ``2130706433`` is 127.0.0.1), as inet_aton reads them."""
    numbers = [_ipv4_number(label) for label in labels]
    valid = [n for n in numbers if n is not None]
    if (
        len(labels) > 4
        or len(valid) < len(numbers)
        or any(n > 255 for n in valid[:-1])
        or valid[-1] >= 256 ** (5 - len(valid))
    ):
        raise DestinationNotAllowed(
            f"webhooks may not post to {host}: it ends in a number but is not an IPv4 address",
            field="url",
        )
    value = valid[-1]
    for index, number in enumerate(valid[:-1]):
        value += number << (8 * (3 - index))
    return IPv4Address(value)


def host_address(host: str) -> Address | None:
    """The address a URL's host spells, read as browsers (the WHATWG URL standard)
    and the C library's inet_aton read it; None for a host name.

    IPv6 in brackets or not, with a zone or not. IPv4 in any of inet_aton's forms:
    dotted, fewer parts (``127.1``), one number (``2130706433``), octal
    (``0177.0.0.1``) or hex (``0x7f000001``) parts, with a trailing dot. A host
    whose last label is a number is an address, or nothing: ``1.2.3.256`` is
    refused (DestinationNotAllowed), not looked up as a name."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if ":" in name:
        try:
            return ip_address(name)
        except ValueError:
            raise DestinationNotAllowed(
                f"webhooks may not post to {host}: it is not an IPv6 address", field="url"
            ) from None
    labels = name.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # one trailing dot, as in "127.0.0.1."
    last = labels[-1]
    if not (last.isascii() and last.isdigit()) and not HEX.fullmatch(last):
        return None
    return _ipv4(host, labels)


def check_host(host: str) -> None:
    """Refuse localhost and a literal non-public address (at creation, and first
    thing before each delivery)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise refusal(host, "loopback")
    address = host_address(host)
    if address is not None and not public(address):
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
