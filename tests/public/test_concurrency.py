"""Uses of a limited token are taken atomically, under many concurrent requests."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.public.helpers import feedback_on, issue, make_run

CONCURRENT_REQUESTS = 1000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings,
        public_rate_limit_per_ip="100000/minute",
        public_rate_limit_per_token="100000/minute",
    )


async def post(http: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await http.post("/public/feedback", json=body)


async def test_uses_are_taken_atomically(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    issued = await issue(gql, run_id, maxUses=5)
    token = issued["token"]
    responses = await asyncio.gather(
        *(post(http, {"token": token, "score": i % 2}) for i in range(CONCURRENT_REQUESTS))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5
    assert statuses.count(409) == CONCURRENT_REQUESTS - 5
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"token_used_up"}
    [record] = await feedback_on(gql, run_id)
    assert len(record["history"]) == 5
    data = await gql.ok(
        "query($r: ID!) { feedbackTokens(runId: $r) { nodes { id uses maxUses } } }",
        {"r": run_id},
    )
    assert data["feedbackTokens"]["nodes"] == [
        {"id": issued["feedbackToken"]["id"], "uses": 5, "maxUses": 5}
    ]
