"""Rate limits, with small limits in these tests' settings."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.public.helpers import feedback_on, issue, make_run


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings,
        public_rate_limit_per_ip="4/minute",
        public_rate_limit_per_token="2/minute",
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )


async def post(http: httpx.AsyncClient, body: Any, ip: str | None = None) -> httpx.Response:
    headers = {"x-forwarded-for": ip} if ip else {}
    return await http.post("/public/feedback", json=body, headers=headers)


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_per_token_limit(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    # Different addresses (through the trusted proxy), one token: 2 per minute.
    assert (await post(http, {"token": token, "score": 1}, "203.0.113.1")).status_code == 200
    assert (await post(http, {"token": token, "score": 0}, "203.0.113.2")).status_code == 200
    assert_limited(await post(http, {"token": token, "score": 1}, "203.0.113.3"))
    [record] = await feedback_on(gql, run_id)
    assert record["score"] == 0
    other = (await issue(gql, run_id, key="other"))["token"]
    assert (await post(http, {"token": other, "score": 1}, "203.0.113.4")).status_code == 200


async def test_per_ip_limit_and_forwarded_for(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    tokens = [(await issue(gql, run_id, key=f"k{i}"))["token"] for i in range(6)]
    for token in tokens[:4]:
        assert (await post(http, {"token": token, "score": 1}, "198.51.100.9")).status_code == 200
    assert_limited(await post(http, {"token": tokens[4], "score": 1}, "198.51.100.9"))
    # Bad tokens count against the address as well.
    assert_limited(await post(http, {"token": "garbage"}, "198.51.100.9"))
    # Another client behind the same trusted proxy has its own allowance.
    assert (await post(http, {"token": tokens[5], "score": 1}, "198.51.100.10")).status_code == 200


async def test_email_form_is_rate_limited_with_retry_after(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    for score in ("1", "0"):
        response = await http.post(f"/f/{token}", data={"score": score})
        assert response.status_code == 200
    limited = await http.post(f"/f/{token}", data={"score": "1"})
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert limited.headers["content-type"].startswith("text/html")
