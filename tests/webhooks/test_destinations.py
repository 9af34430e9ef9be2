"""Webhooks may not post to this machine or a private network unless
PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS says so: refused when created (a literal
address, localhost), and checked again on the resolved addresses before each
delivery (a host name can point anywhere)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from starlette.applications import Starlette

from app.settings import Settings, SettingsError
from app.webhooks.destinations import DestinationNotAllowed, check_resolved
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
    ],
)
async def test_private_destinations_are_refused(gql: GraphQLClient, url: str) -> None:
    error = await gql.error(CREATE_HOOK, {"url": url, "secret": SECRET})
    assert error["extensions"]["code"] == "WEBHOOK_DESTINATION_NOT_ALLOWED", error
    assert "PLAUDIT_WEBHOOK_ALLOW_PRIVATE_NETWORKS" in error["message"]


async def test_public_destinations_are_accepted(gql: GraphQLClient) -> None:
    for url in ("https://hooks.example.com/plaudit", "http://93.184.215.14/hook"):
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


async def test_a_delivery_to_a_private_address_fails_for_good(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    receiver = Receiver().start()
    try:
        # Stored as an older version (or another process's settings) would have.
        await services(app).stores.webhooks.create(
            keys.project_id, receiver.url, ["created"], SECRET, None
        )
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
