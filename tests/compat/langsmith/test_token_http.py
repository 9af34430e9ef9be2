"""LangSmith-style presigned tokens over HTTP: the browser rules of the public
routes apply to ``POST /feedback/tokens/{id}`` as well."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.commands import CommandRecorder
from tests.compat.langsmith.test_http import h, make_run
from tests.conftest import GraphQLClient, Keys

ALLOWED = "https://app.example.com"


async def new_token(http: httpx.AsyncClient, keys: Keys, run_id: str) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/feedback/tokens",
        json={"run_id": run_id, "feedback_key": "thumbs"},
        headers=h(keys.ingest),
    )
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


async def scores(http: httpx.AsyncClient, keys: Keys, run_id: str) -> list[Any]:
    response = await http.get("/api/v1/feedback", params={"run": run_id}, headers=h(keys.read))
    assert response.status_code == 200, response.text
    return [f["score"] for f in response.json()]


async def test_a_browser_page_needs_an_allowed_origin(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    await gql.ok(
        "mutation($o: [String!]) { updateProject(input: {allowedOrigins: $o}) { id } }",
        {"o": [ALLOWED]},
    )
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys, run_id)
    path = f"/api/v1/feedback/tokens/{token['id']}"
    for origin, words in [
        ("null", "null origins are not allowed"),
        ("https://evil.example", "https://evil.example may not send feedback"),
    ]:
        refused = await http.post(path, json={"score": 1}, headers={"origin": origin})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "origin_not_allowed"
        assert words in refused.json()["detail"]
    assert await scores(http, keys, run_id) == []
    allowed = await http.post(path, json={"score": 0}, headers={"origin": ALLOWED})
    assert allowed.status_code == 200, allowed.text
    server = await http.post(path, json={"score": 1})  # no Origin: not a browser
    assert server.status_code == 200, server.text
    assert await scores(http, keys, run_id) == [1]


async def test_only_json_is_accepted(http: httpx.AsyncClient, keys: Keys) -> None:
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys, run_id)
    path = f"/api/v1/feedback/tokens/{token['id']}"
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        refused = await http.post(
            path, content=b'{"score": 1}', headers={"content-type": content_type}
        )
        assert refused.status_code == 415, refused.text
        assert refused.json()["error"] == "unsupported_media_type"
    assert await scores(http, keys, run_id) == []


@pytest.mark.record_commands
async def test_the_url_id_is_found_through_an_index(
    http: httpx.AsyncClient, keys: Keys, recorder: CommandRecorder, sync_db: Any
) -> None:
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys, run_id)
    recorder.clear()
    response = await http.post(f"/api/v1/feedback/tokens/{token['id']}", json={"score": 1})
    assert response.status_code == 200, response.text
    [lookup] = [c for c in recorder.on("feedback_tokens", "find") if "url_id" in c["filter"]]
    command = {"find": "feedback_tokens", "filter": lookup["filter"]}
    plan = json.dumps(sync_db.command("explain", command), default=str)
    assert "IXSCAN" in plan and "COLLSCAN" not in plan, plan


async def test_tokens_issued_before_url_ids_keep_working(
    http: httpx.AsyncClient, keys: Keys, sync_db: Any
) -> None:
    """Such a token's record id was its URL id: it works until it expires."""
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys, run_id)
    record = sync_db.feedback_tokens.find_one({"url_id": token["id"]})
    legacy = {k: v for k, v in record.items() if k != "url_id"}
    sync_db.feedback_tokens.delete_one({"_id": record["_id"]})
    sync_db.feedback_tokens.insert_one({**legacy, "_id": token["id"], "usable_by_id": True})
    response = await http.post(f"/api/v1/feedback/tokens/{token['id']}", json={"score": 1})
    assert response.status_code == 200, response.text
    listed = await http.get(
        "/api/v1/feedback/tokens", params={"run_id": run_id}, headers=h(keys.ingest)
    )
    assert [t["id"] for t in listed.json()] == [token["id"]]
    # A Plaudit token's record id was never a URL id.
    sync_db.feedback_tokens.update_one({"_id": token["id"]}, {"$unset": {"usable_by_id": 1}})
    refused = await http.post(f"/api/v1/feedback/tokens/{token['id']}", json={"score": 0})
    assert refused.status_code == 404, refused.text
    assert await scores(http, keys, run_id) == [1]
