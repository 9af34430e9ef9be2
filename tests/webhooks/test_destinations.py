"""Webhooks may not post to this machine or a private network unless
PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS says so: refused when created (a literal
address, localhost), and checked again on the resolved addresses before each
delivery (a host name can point anywhere)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from app.domain.webhooks.destinations import DestinationNotAllowed, check_resolved, host_address
from app.settings import Settings, SettingsError
from tests.conftest import GraphQLClient, Keys
from tests.pipelines_support import make_runs, services
from tests.webhooks.test_webhooks import CREATE_HOOK, SECRET, Receiver, feedback, sole_delivery


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        # Numeric spellings a browser or the C library reads as an address.
        "http://127.1/hook",
        "http://127.0.1/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://0X7F.0.0.1/hook",
        "http://0177.0.0.1/hook",
        "http://017700000001/hook",
        "http://127.000.000.001/hook",
        "http://127.0.0.1./hook",
        "http://0/hook",
        "http://10.1/hook",
        "http://2852039166/latest/meta-data/",
        "http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/",
        "http://0251.0376.0251.0376/latest/meta-data/",
        # IPv6: mapped, compatible and NAT64 forms of IPv4, 6to4, link- and site-local.
        "http://[::ffff:7f00:1]/hook",
        "http://[0:0:0:0:0:ffff:127.0.0.1]/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",
        "http://[2002:7f00:1::1]/hook",
        "http://[fe80::1%25eth0]/hook",
        "http://[fec0::1]/hook",
        "http://[::]/hook",
    ],
)
async def test_private_destinations_are_refused(gql: GraphQLClient, url: str) -> None:
    error = await gql.error(CREATE_HOOK, {"url": url, "secret": SECRET})
    assert error["extensions"]["code"] == "WEBHOOK_DESTINATION_NOT_ALLOWED", error
    assert "PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS" in error["message"]


async def test_public_destinations_are_accepted(gql: GraphQLClient) -> None:
    for url in (
        "https://hooks.example.com/plaudit",
        "http://93.184.215.14/hook",
        "http://0x5db8d70e/hook",  # 93.184.215.14, spelled in hex
        "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
        "http://[::ffff:93.184.215.14]/hook",
        "http://1.2.3.example/hook",  # a name: its last label is not a number
    ):
        data = await gql.ok(CREATE_HOOK, {"url": url, "secret": SECRET})
        assert data["createWebhook"]["webhook"]["url"] == url


async def test_resolved_addresses_are_checked_before_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {
        "rebound.example": ["93.184.215.14", "10.0.0.7"],  # one private address is enough
        "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    }

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(DestinationNotAllowed, match=r"rebound\.example \(10\.0\.0\.7\)"):
        await check_resolved("https://rebound.example/hook")
    await check_resolved("https://public.example/hook")
    await check_resolved("https://unknown.example/hook")  # unresolvable: left to the request
    with pytest.raises(DestinationNotAllowed):
        await check_resolved("http://127.0.0.1:9/hook")  # literal: refused without a lookup


@pytest.mark.parametrize(
    "host",
    ["127.1", "2130706433", "0x7f000001", "0177.0.0.1", "2852039166", "[::ffff:127.0.0.1]"],
)
async def test_numeric_spellings_are_refused_before_delivery_without_a_lookup(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    """The same reading of the host as at creation, not left to the resolver."""

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "no lookups here")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(DestinationNotAllowed, match="not a public address"):
        await check_resolved(f"http://{host}:9/hook")


def spell(number: int, base: str) -> str:
    return {"dec": str(number), "oct": "0" + format(number, "o"), "hex": hex(number)}[base]


@given(
    st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.sampled_from(["dec", "oct", "hex"])),
        min_size=1,
        max_size=4,
    )
)
@settings(max_examples=500, derandomize=True, database=None, deadline=None)
def test_numeric_hosts_are_read_as_inet_aton_reads_them(parts: list[tuple[int, str]]) -> None:
    """Whatever the C library takes as an address (what the HTTP client would
    connect to), host_address reads as the same address; the rest is refused."""
    host = ".".join(spell(number, base) for number, base in parts)
    try:
        expected: str | None = socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        expected = None
    try:
        address = host_address(host)
    except DestinationNotAllowed:
        assert expected is None, host
    else:
        assert address is not None and str(address) == expected, host


@pytest.mark.parametrize("host", ["1.2.3.256", "1.2.3.4.5", "example.09", "0x1g.1"])
async def test_a_host_ending_in_a_number_must_be_an_address(gql: GraphQLClient, host: str) -> None:
    """Browsers refuse such a host; so does Plaudit, rather than guess."""
    error = await gql.error(CREATE_HOOK, {"url": f"http://{host}/hook", "secret": SECRET})
    assert error["extensions"]["code"] == "WEBHOOK_DESTINATION_NOT_ALLOWED", error
    assert "not an IPv4 address" in error["message"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "2130706433", "0x7f000001"])
async def test_a_delivery_to_a_private_address_fails_for_good(
    app: Starlette, gql: GraphQLClient, keys: Keys, host: str
) -> None:
    receiver = Receiver().start()
    try:
        # Stored as an older version (or another process's settings) would have.
        url = receiver.url.replace("127.0.0.1", host)
        await services(app).stores.webhooks.create(keys.project_id, url, ["created"], SECRET, None)
        [run] = await make_runs(app, keys.project_id, 1)
        await feedback(gql, keys, run)
        delivery = await sole_delivery(gql, "FAILED")
        assert "not a public address" in delivery["log"][0]["error"]
        assert receiver.received == []
    finally:
        receiver.stop()


def test_the_setting_is_a_flag() -> None:
    env = {"PLAUDIT_SECRET_KEYS": "x" * 40}
    assert not Settings.from_env(env).webhook_allow_private_networks
    allowed = {**env, "PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    assert Settings.from_env(allowed).webhook_allow_private_networks
    with pytest.raises(SettingsError, match="true or false"):
        Settings.from_env({**env, "PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "maybe"})
