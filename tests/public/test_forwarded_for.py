"""X-Forwarded-For counts only from PLAUDIT_TRUSTED_PROXIES (none here)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.public.helpers import issue, make_run

# The test counts within one window: the rate limits' clock is pinned.
pytestmark = pytest.mark.usefixtures("rate_limit_window")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, public_rate_limit_per_ip="4/minute", trusted_proxies=())


async def post(http: httpx.AsyncClient, body: Any, ip: str) -> httpx.Response:
    return await http.post("/public/feedback", json=body, headers={"x-forwarded-for": ip})


async def test_forwarded_for_is_ignored_from_untrusted_peers(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id = await make_run(gql)
    tokens = [(await issue(gql, run_id, key=f"k{i}"))["token"] for i in range(5)]
    for i, token in enumerate(tokens[:4]):
        response = await post(http, {"token": token, "score": 1}, f"192.0.2.{i}")
        assert response.status_code == 200
    # Every request came from 127.0.0.1 whatever X-Forwarded-For claimed.
    limited = await post(http, {"token": tokens[4], "score": 1}, "192.0.2.99")
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
