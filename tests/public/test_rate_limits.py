"""Rate limits, with small limits in these tests' settings."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.errors import RateLimited
from app.settings import Settings
from app.store.rate_limits import Quota, Window
from tests.conftest import GraphQLClient, services
from tests.public.helpers import feedback_on, issue, make_run

# Every test counts within one window: the rate limits' clock is pinned.
pytestmark = pytest.mark.usefixtures("rate_limit_window")


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


@pytest.mark.parametrize("max_uses", [None, 5])
async def test_token_limit_holds_under_concurrent_posts(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, max_uses: int | None
) -> None:
    """Racing posts through one token from many addresses get exactly the limit,
    and the refused ones change nothing. Without a use limit the count lives in
    the token's feedback record; with one, in a counter taken before the use, so
    no refused post holds a use."""
    run_id = await make_run(gql)
    token = (await issue(gql, run_id, **({"maxUses": max_uses} if max_uses else {})))["token"]
    posts = [post(http, {"token": token, "score": i % 2}, f"203.0.113.{i}") for i in range(10)]
    statuses = Counter(r.status_code for r in await asyncio.gather(*posts))
    assert statuses == Counter({200: 2, 429: 8}), statuses
    [record] = await feedback_on(gql, run_id)
    assert [entry["change"] for entry in record["history"]] == ["created", "updated"]
    stored = await services(app).stores.feedback.collection.find_one({"_id": record["id"]})
    assert stored is not None
    tokens = services(app).stores.feedback_tokens.collection
    [stored_token] = await tokens.find({"run_id": run_id}).to_list()
    if max_uses is None:
        assert stored["quota"]["2per60"]["count"] == 2
    else:
        assert "quota" not in stored
        assert stored_token["uses"] == 2


def test_quota_counts_per_window() -> None:
    now = time.time()
    window = Window.at(now, 60)
    quota = Quota(((2, window),), refusal="too many", now=now)
    assert quota.first == {"2per60": {"start": window.start, "count": 1}}
    assert quota.take({"quota": quota.first}) == {
        "quota.2per60": {"start": window.start, "count": 2}
    }
    with pytest.raises(RateLimited) as refused:
        quota.take({"quota": {"2per60": {"start": window.start, "count": 2}}})
    assert 1 <= refused.value.retry_after <= 60
    # A count from an earlier window does not carry over; a record with no quota
    # (written before tokens were counted this way, or through the API) starts at 0.
    earlier = {"quota": {"2per60": {"start": window.start - 60, "count": 2}}}
    assert quota.take(earlier)["quota.2per60"]["count"] == 1
    assert quota.take({})["quota.2per60"]["count"] == 1


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


async def test_the_widgets_question_counts_per_address(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    token = (await issue(gql, await make_run(gql)))["token"]

    async def ask(ip: str) -> httpx.Response:
        headers = {"x-forwarded-for": ip}
        return await http.get("/public/question", params={"token": token}, headers=headers)

    for _ in range(4):
        assert (await ask("198.51.100.7")).status_code == 200
    assert_limited(await ask("198.51.100.7"))
    assert (await ask("198.51.100.8")).status_code == 200


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
