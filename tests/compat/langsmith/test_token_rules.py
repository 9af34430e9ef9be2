"""LangSmith-style presigned tokens over HTTP: what a null means, the token's
feedback id and metadata, short lifetimes, Retry-After, and CORS."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.compat.langsmith.test_http import give, h, make_run
from tests.conftest import GraphQLClient, Keys

ALLOWED = "https://app.example.com"
# What create_feedback_from_token sends: every field, null when not given.
SDK_NULLS = {"score": None, "value": None, "correction": None, "comment": None, "metadata": None}
RECORD = """query($id: ID!) { feedbackById(id: $id) {
  id score value comment correction retracted sourceType sourceInfo
  history { change by via }
} }"""


async def new_token(http: httpx.AsyncClient, key: str, run_id: str, **body: Any) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/feedback/tokens",
        json={"run_id": run_id, "feedback_key": "thumbs", **body},
        headers=h(key),
    )
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


async def submit(
    http: httpx.AsyncClient,
    token: dict[str, Any],
    headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response:
    return await http.post(
        f"/api/v1/feedback/tokens/{token['id']}", json={**SDK_NULLS, **body}, headers=headers
    )


async def allow(gql: GraphQLClient, origin: str) -> None:
    await gql.ok(
        "mutation($o: [String!]) { updateProject(input: {allowedOrigins: $o}) { id } }",
        {"o": [origin]},
    )


async def on_run(http: httpx.AsyncClient, keys: Keys, run_id: str) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/feedback", params={"run": run_id}, headers=h(keys.read))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


# -- a null is "not given", never a withdrawal ---------------------------------------------------


async def test_a_comment_after_a_vote_keeps_the_vote(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys.ingest, run_id)
    assert (await submit(http, token, score=1)).status_code == 200
    commented = await submit(http, token, comment="it cited its source")
    assert commented.status_code == 200, commented.text
    [record] = await on_run(http, keys, run_id)
    assert (record["score"], record["comment"]) == (1, "it cited its source")
    stored = (await gql.ok(RECORD, {"id": record["id"]}))["feedbackById"]
    assert stored["retracted"] is False
    assert [c["change"] for c in stored["history"]] == ["created", "updated"]


async def test_a_comment_without_a_vote_is_a_comment_only_record(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys.ingest, run_id)
    response = await submit(http, token, comment="no thumbs, just words")
    assert response.status_code == 200, response.text
    [record] = await on_run(http, keys, run_id)
    assert (record["score"], record["comment"]) == (None, "no thumbs, just words")


async def test_rest_create_with_a_null_score_keeps_a_users_vote(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    run_id = await make_run(http, keys.ingest)
    source = {"type": "api", "user_id": "alice"}
    first = await give(
        http, keys.ingest, run_id=run_id, key="thumbs", score=1, feedback_source=source
    )
    again = await give(
        http,
        keys.ingest,
        run_id=run_id,
        key="thumbs",
        score=None,
        value=None,
        comment="and a comment",
        feedback_source=source,
    )
    assert again["id"] == first["id"]
    assert (again["score"], again["comment"]) == (1, "and a comment")


# -- the token's feedback id and metadata ---------------------------------------------------------


async def test_the_tokens_feedback_id_is_the_records_id(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    run_id = await make_run(http, keys.ingest)
    feedback_id = str(uuid.uuid4())
    token = await new_token(http, keys.ingest, run_id, id=feedback_id)
    assert token["feedback_key"] == "thumbs"
    assert (await submit(http, token, score=1, metadata={"page": "/help"})).status_code == 200
    assert (await submit(http, token, score=0)).status_code == 200

    read = await http.get(f"/api/v1/feedback/{feedback_id}", headers=h(keys.read))
    assert read.status_code == 200, read.text
    assert read.json()["score"] == 0 and read.json()["run_id"] == run_id
    # LangSmith shows a token submission's metadata as the feedback source's.
    source = read.json()["feedback_source"]
    assert source["type"] == "app" and source["metadata"]["page"] == "/help"
    stored = (await gql.ok(RECORD, {"id": feedback_id}))["feedbackById"]
    assert [c["change"] for c in stored["history"]] == ["created", "updated"]
    data = await gql.ok(
        "query($r: ID!) { feedbackTokens(runId: $r) { nodes { feedbackId } } }", {"r": run_id}
    )
    assert data["feedbackTokens"]["nodes"] == [{"feedbackId": feedback_id}]


async def test_a_feedback_id_already_used_is_a_conflict(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    run_id = await make_run(http, keys.ingest)
    used = (await give(http, keys.ingest, run_id=run_id, key="thumbs", score=1))["id"]
    for feedback_id in (used, str(uuid.uuid4())):
        if feedback_id != used:
            await new_token(http, keys.ingest, run_id, id=feedback_id)
        refused = await http.post(
            "/api/v1/feedback/tokens",
            json={"run_id": run_id, "feedback_key": "stars", "id": feedback_id},
            headers=h(keys.ingest),
        )
        assert refused.status_code == 409, refused.text
        assert feedback_id in refused.json()["detail"]


# -- lifetimes ----------------------------------------------------------------------------------


async def test_a_lifetime_of_nothing_is_refused_not_lengthened(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    run_id = await make_run(http, keys.ingest)
    for expires_in in ({"days": 0, "hours": 0, "minutes": 0}, {}):
        refused = await http.post(
            "/api/v1/feedback/tokens",
            json={"run_id": run_id, "feedback_key": "thumbs", "expires_in": expires_in},
            headers=h(keys.ingest),
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == "expires_in"
        assert "at least one minute" in refused.json()["detail"]


async def test_lifetimes_under_a_minute_are_honoured(http: httpx.AsyncClient, keys: Keys) -> None:
    run_id = await make_run(http, keys.ingest)
    before = datetime.now(UTC)
    half = await new_token(http, keys.ingest, run_id, expires_in={"minutes": 0.5})
    lifetime = datetime.fromisoformat(half["expires_at"]) - before
    assert timedelta(seconds=29) <= lifetime <= timedelta(seconds=31)
    at = (datetime.now(UTC) + timedelta(seconds=20)).replace(microsecond=0)
    soon = await new_token(http, keys.ingest, run_id, expires_at=at.isoformat())
    assert datetime.fromisoformat(soon["expires_at"]) == at


# -- Retry-After -------------------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, public_rate_limit_per_token="2/minute")


@pytest.mark.usefixtures("rate_limit_window")
async def test_the_token_routes_429_says_when_to_retry(http: httpx.AsyncClient, keys: Keys) -> None:
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys.ingest, run_id)
    for score in (1, 0):
        assert (await submit(http, token, score=score)).status_code == 200
    limited = await submit(http, token, score=1)
    assert limited.status_code == 429, limited.text
    assert limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60


# -- CORS, as on the widget's routes ------------------------------------------------------------


async def test_preflight_on_both_mounts(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    await allow(gql, ALLOWED)
    token = await new_token(http, keys.ingest, await make_run(http, keys.ingest))
    for prefix in ("/api/v1", ""):
        path = f"{prefix}/feedback/tokens/{token['id']}"
        asked = {"access-control-request-method": "POST"}
        ok = await http.options(path, headers={"origin": ALLOWED, **asked})
        assert ok.status_code == 204, ok.text
        assert ok.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in ok.headers["access-control-allow-methods"]
        assert ok.headers["access-control-allow-headers"] == "Content-Type"
        for origin in ("https://evil.example", "null"):
            refused = await http.options(path, headers={"origin": origin, **asked})
            assert refused.status_code == 403, refused.text
            assert "access-control-allow-origin" not in refused.headers


async def test_pages_on_allowed_origins_can_read_the_answers(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    await allow(gql, ALLOWED)
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys.ingest, run_id)
    page = {"origin": ALLOWED}
    ok = await submit(http, token, page, score=1)
    assert ok.status_code == 200, ok.text
    assert ok.headers["access-control-allow-origin"] == ALLOWED
    bad = await submit(http, token, page, score="high")
    assert bad.status_code == 400
    assert bad.headers["access-control-allow-origin"] == ALLOWED
    # As on the widget's route: a refused page may read why (only why), so it can
    # say so; a null origin names no site to answer.
    refused = await submit(http, token, {"origin": "https://evil.example"}, score=0)
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == "https://evil.example"
    assert set(refused.json()) == {"error", "message", "detail"}
    assert refused.json()["error"] == "origin_not_allowed"
    null = await submit(http, token, {"origin": "null"}, score=0)
    assert null.status_code == 403
    assert "access-control-allow-origin" not in null.headers
    assert [f["score"] for f in await on_run(http, keys, run_id)] == [1]
