"""Scores with the public key alone (``Authorization: Bearer pk-lf-...``, Langfuse's
browser SDK): the refusals. A real browser's page: tests/browser/test_langfuse_public_scores.py."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.compat.langfuse.helpers import Pair, key_pair
from tests.conftest import GraphQLClient

pytestmark = pytest.mark.usefixtures("rate_limit_window")

ORIGIN = "https://chat.example.com"
SETTINGS = """mutation($on: Boolean, $o: [String!]) {
  updateProject(input: {langfusePublicScores: $on, allowedOrigins: $o}) {
    langfusePublicScores } }"""
FEEDBACK = """query($k: String!) { feedback(filter: {keys: [$k]}) {
  nodes { score userId sourceType } } }"""
TRACE = "12" * 16


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings,
        public_rate_limit_per_ip="5/minute",
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )


def _public(pair: Pair, origin: str | None = ORIGIN, ip: str = "203.0.113.5") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {pair.public_key}", "x-forwarded-for": ip}
    if origin is not None:
        headers["Origin"] = origin
    return headers


async def _turn_on(gql: GraphQLClient) -> None:
    done = await gql.ok(SETTINGS, {"on": True, "o": [ORIGIN]})
    assert done["updateProject"]["langfusePublicScores"] is True


def _score(**extra: Any) -> dict[str, Any]:
    return {"traceId": TRACE, "name": "thumbs", "value": 1, "dataType": "BOOLEAN", **extra}


async def test_refused_when_off_then_taken_when_on(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    await gql.ok(SETTINGS, {"o": [ORIGIN]})
    off = await http.post("/api/public/scores", json=_score(), headers=_public(pair))
    assert off.status_code == 403, off.text
    assert "langfusePublicScores" in off.json()["message"]
    await _turn_on(gql)
    on = await http.post("/api/public/scores", json=_score(), headers=_public(pair))
    assert on.status_code == 200, on.text
    assert on.headers["access-control-allow-origin"] == ORIGIN
    (record,) = (await gql.ok(FEEDBACK, {"k": "thumbs"}))["feedback"]["nodes"]
    assert (record["score"], record["sourceType"]) == (True, "APP")


async def test_only_from_the_projects_origins(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    pair = await key_pair(gql)
    await _turn_on(gql)
    cases = {
        "another origin": "https://evil.example.com",
        "no origin": None,
        "a null origin": "null",
    }
    for what, origin in cases.items():
        response = await http.post(
            "/api/public/scores", json=_score(), headers=_public(pair, origin)
        )
        assert response.status_code == 403, (what, response.text)
        assert response.json()["error"] == "origin_not_allowed", what
    assert (await gql.ok(FEEDBACK, {"k": "thumbs"}))["feedback"]["nodes"] == []


async def test_over_the_widgets_per_address_limit(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    await _turn_on(gql)
    for n in range(5):
        response = await http.post(
            "/api/public/scores", json=_score(name=f"k{n}"), headers=_public(pair)
        )
        assert response.status_code == 200, response.text
    limited = await http.post("/api/public/scores", json=_score(), headers=_public(pair))
    assert limited.status_code == 429, limited.text
    assert limited.json()["error"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    # Ingestion counts on the same allowance; another address has its own.
    batch = {"batch": [{"id": "e", "type": "score-create", "body": _score()}]}
    assert (
        await http.post("/api/public/ingestion", json=batch, headers=_public(pair))
    ).status_code == 429
    elsewhere = await http.post(
        "/api/public/scores", json=_score(), headers=_public(pair, ip="203.0.113.6")
    )
    assert elsewhere.status_code == 200, elsewhere.text


async def test_never_changes_a_score_it_did_not_create(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    await _turn_on(gql)
    mine = {**_score(), "id": "server-1", "authorUserId": "ada", "value": 0}
    created = await http.post("/api/public/scores", json=mine, headers=pair.basic())
    assert created.status_code == 200, created.text
    overwrite = await http.post(
        "/api/public/scores", json={**mine, "value": 1}, headers=_public(pair)
    )
    assert overwrite.status_code == 409, overwrite.text
    # The same user, run and key without an id: a record of its own, not ada's changed.
    same_user = await http.post(
        "/api/public/scores", json={**_score(), "authorUserId": "ada"}, headers=_public(pair)
    )
    assert same_user.status_code == 200, same_user.text
    records = (await gql.ok(FEEDBACK, {"k": "thumbs"}))["feedback"]["nodes"]
    assert sorted((r["userId"] or "", r["score"]) for r in records) == [("", True), ("ada", False)]
    read = await http.get(f"/api/public/scores/{same_user.json()['id']}", headers=pair.basic())
    assert read.json()["authorUserId"] == "ada"
    # Nothing but creating: no reading, deleting, other events or dataset runs.
    public = _public(pair)
    assert (await http.get("/api/public/scores/server-1", headers=public)).status_code == 401
    assert (await http.delete("/api/public/scores/server-1", headers=public)).status_code == 401
    assert (await http.get("/api/public/v3/scores", headers=public)).status_code == 401
    batch = {
        "batch": [
            {"id": "t", "type": "trace-create", "body": {"id": "x"}},
            {"id": "d", "type": "score-create", "body": _score(traceId=None, datasetRunId="x")},
        ]
    }
    answer = (await http.post("/api/public/ingestion", json=batch, headers=public)).json()
    statuses = {e["id"]: (e["status"], e["message"]) for e in answer["errors"]}
    assert statuses["t"][0] == 403 and "score-create events only" in statuses["t"][1]
    assert statuses["d"][0] == 403 and "not dataset runs" in statuses["d"][1]


async def test_unknown_or_revoked_public_keys(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    pair = await key_pair(gql)
    await _turn_on(gql)
    unknown = Pair(pair.id, "pk-lf-nope", "")
    response = await http.post("/api/public/scores", json=_score(), headers=_public(unknown))
    assert response.status_code == 401 and "unknown public key" in response.json()["message"]
    await gql.ok("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": pair.id})
    revoked = await http.post("/api/public/scores", json=_score(), headers=_public(pair))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["message"]


async def test_the_preflight_names_langfuses_headers(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await _turn_on(gql)
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    for path in ("/api/public/scores", "/api/public/ingestion"):
        response = await http.options(path, headers=asked)
        assert response.status_code == 204, response.text
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "Authorization" in response.headers["access-control-allow-headers"]
    stranger = await http.options(
        "/api/public/scores", headers={**asked, "Origin": "https://evil.example.com"}
    )
    assert stranger.status_code == 403
    assert "access-control-allow-origin" not in stranger.headers
