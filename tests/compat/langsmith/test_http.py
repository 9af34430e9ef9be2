"""The LangSmith-compatible routes at the HTTP level: what the SDK tests don't
reach (error shapes, parameter spellings, limits), through the ASGI app."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, Keys


def h(key: str) -> dict[str, str]:
    return {"x-api-key": key}


async def make_run(http: httpx.AsyncClient, key: str, **fields: Any) -> str:
    run_id = str(uuid.uuid4())
    response = await http.post(
        "/api/v1/runs",
        json={"id": run_id, "name": "chat", "run_type": "llm", "inputs": {"q": 1}, **fields},
        headers=h(key),
    )
    assert response.status_code == 200, response.text
    return run_id


async def give(http: httpx.AsyncClient, api_key: str, **body: Any) -> dict[str, Any]:
    response = await http.post("/feedback", json=body, headers=h(api_key))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_info_is_public_and_asks_for_json_batches(http: httpx.AsyncClient) -> None:
    for path in ("/info", "/api/v1/info"):
        info = (await http.get(path)).json()
        assert info["batch_ingest_config"]["use_multipart_endpoint"] is False
        assert info["batch_ingest_config"]["size_limit_bytes"] < 4 * 1024 * 1024
        assert info["version"]


async def test_served_at_the_root_and_under_api_v1(http: httpx.AsyncClient, keys: Keys) -> None:
    run_id = await make_run(http, keys.ingest)
    for prefix in ("", "/api/v1"):
        response = await http.get(f"{prefix}/runs/{run_id}", headers=h(keys.read))
        assert response.status_code == 200 and response.json()["run_type"] == "llm"
    # Authorization: Bearer works as well as x-api-key.
    bearer = {"Authorization": f"Bearer {keys.read}"}
    assert (await http.get(f"/runs/{run_id}", headers=bearer)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "words"),
    [
        ("GET", "/api/v1/feedback", {}, 401, "missing API key"),
        ("GET", "/api/v1/feedback", {"headers": h("plaudit_nope")}, 401, "invalid API key"),
        ("PUT", "/api/v1/feedback", {}, 405, "use GET, POST"),
        ("DELETE", "/runs/batch", {}, 405, "use POST"),
        ("GET", "/api/v1/repos", {}, 404, "no such LangSmith-compatible route"),
        ("POST", "/api/v1/runs/multipart", {}, 404, "/runs/batch"),
    ],
)
async def test_errors_are_json_with_detail(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    words: str,
) -> None:
    response = await http.request(method, path, **kwargs)
    assert response.status_code == status
    body = response.json()
    assert words in body["detail"] and body["message"] == body["detail"]
    if status == 405:
        assert response.headers["allow"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "not valid JSON"),
        ({"run_id": "r", "key": "k", "score": "high"}, "body.score: 'high' is not of type"),
        ({"key": "k", "score": 1}, "give run_id or trace_id"),
        ({"run_id": "not-a-uuid", "key": "k"}, "runId must be a UUID"),
        (
            {"run_id": str(uuid.uuid4()), "key": "k", "feedback_source": {"type": "x"}},
            "unknown feedback source type 'x'",
        ),
    ],
)
async def test_bad_feedback_bodies_get_400(
    http: httpx.AsyncClient, keys: Keys, body: Any, words: str
) -> None:
    content = body if isinstance(body, str) else None
    response = await http.post(
        "/feedback", content=content, json=None if content else body, headers=h(keys.ingest)
    )
    assert response.status_code == 400, response.text
    assert words in response.json()["detail"]


async def test_trace_id_alone_names_the_run_and_reads_carry_both_ids(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    run_id = await make_run(http, keys.ingest)
    created = await give(http, keys.ingest, trace_id=run_id, key="thumbs", score=1)
    assert created["run_id"] == run_id and created["trace_id"] == run_id
    other = await give(http, keys.ingest, run_id=run_id, key="stars", score=3)
    read = (await http.get(f"/feedback/{other['id']}", headers=h(keys.read))).json()
    assert "trace_id" in read and read["trace_id"] is None and read["run_id"] == run_id


async def test_camel_case_feedback_config_registers_the_key(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    run_id = await make_run(http, keys.ingest)
    config = {"type": "categorical", "categories": [{"value": 0}, {"value": 1, "label": "yes"}]}
    await give(http, keys.admin, run_id=run_id, key="ok", score=1, feedbackConfig=config)
    data = await gql.ok('{ feedbackKey(key: "ok") { kind categories { label } } }')
    assert data["feedbackKey"] == {
        "kind": "CATEGORICAL",
        "categories": [{"label": "0"}, {"label": "yes"}],
    }


async def test_list_parameters(http: httpx.AsyncClient, keys: Keys) -> None:
    first = await make_run(http, keys.ingest)
    second = await make_run(http, keys.ingest)
    a = await give(
        http,
        keys.ingest,
        run_id=first,
        key="thumbs",
        score=1,
        feedback_source={"type": "api", "user_id": "ann"},
    )
    b = await give(
        http,
        keys.ingest,
        run_id=second,
        key="stars",
        value="meh",
        feedback_source={"type": "model", "metadata": {}},
    )

    async def ids(params: Any) -> list[str]:
        response = await http.get("/feedback", params=params, headers=h(keys.read))
        assert response.status_code == 200, response.text
        body = response.json()
        assert isinstance(body, list)
        return [f["id"] for f in body]

    both = {a["id"], b["id"]}
    assert set(await ids([("run", first), ("run", second)])) == both
    assert set(await ids({"run": f"{first},{second}"})) == both
    assert set(await ids({"key": "thumbs,stars"})) == both
    assert await ids({"source": "FeedbackSourceType.API"}) == [a["id"]]
    assert await ids({"source": "MODEL"}) == [b["id"]]
    assert await ids({"user": "ann"}) == [a["id"]]
    assert await ids({"has_score": "True"}) == [a["id"]]
    assert await ids({"has_score": "false"}) == [b["id"]]
    # Newest first, by offset.
    assert await ids({"limit": 1}) == [b["id"]]
    assert await ids({"limit": 1, "offset": 1}) == [a["id"]]
    assert await ids({"offset": 2}) == []

    for params, words in [
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"source": "robot"}, "unknown feedback source type"),
        ({"run": "nope"}, "run must be a UUID"),
        ({"has_score": "maybe"}, "has_score must be true or false"),
        ({"min_created_at": "yesterday"}, "min_created_at must be an ISO 8601 time"),
    ]:
        response = await http.get("/feedback", params=params, headers=h(keys.read))
        assert response.status_code == 400 and words in response.json()["detail"]


async def test_a_users_feedback_on_a_run_and_key_is_one_record(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    """feedback_source.user_id is Plaudit's user id, with Plaudit's upsert."""
    run_id = await make_run(http, keys.ingest)
    source = {"type": "app", "user_id": "u-7"}
    first = await give(
        http, keys.ingest, run_id=run_id, key="thumbs", score=1, feedback_source=source
    )
    second = await give(
        http, keys.ingest, run_id=run_id, key="thumbs", score=0, feedback_source=source
    )
    assert second["id"] == first["id"] and second["score"] == 0
    data = await gql.ok(
        "query($id: ID!) { feedbackById(id: $id) { userId sourceType history { change } } }",
        {"id": first["id"]},
    )
    assert data["feedbackById"]["userId"] == "u-7" and data["feedbackById"]["sourceType"] == "APP"
    assert [c["change"] for c in data["feedbackById"]["history"]] == ["created", "updated"]


async def test_runs_batch_posts_then_patches(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    run_id = str(uuid.uuid4())
    body = {
        "post": [{"id": run_id, "name": "r", "run_type": "tool", "inputs": {"x": 1}}],
        "patch": [{"id": run_id, "outputs": {"y": 2}, "end_time": "2030-01-01T00:00:00Z"}],
    }
    response = await http.post("/runs/batch", json=body, headers=h(keys.ingest))
    assert response.json() == {"post": 1, "patch": 1}
    data = await gql.ok(
        "query($id: ID!) { run(id: $id) { inputs outputs endTime metadata } }", {"id": run_id}
    )
    assert data["run"]["inputs"] == {"x": 1} and data["run"]["outputs"] == {"y": 2}
    assert data["run"]["endTime"].startswith("2030-01-01")
    assert data["run"]["metadata"] == {"ls_run_type": "tool"}

    bad = await http.post("/runs/batch", json={"post": [{"name": "no id"}]}, headers=h(keys.ingest))
    assert bad.status_code == 400 and "needs an id" in bad.json()["detail"]


async def test_patch_must_name_the_same_run(http: httpx.AsyncClient, keys: Keys) -> None:
    run_id = await make_run(http, keys.ingest)
    response = await http.patch(
        f"/runs/{run_id}", json={"id": str(uuid.uuid4()), "outputs": {}}, headers=h(keys.ingest)
    )
    assert response.status_code == 400 and "not the run id" in response.json()["detail"]


async def test_a_run_id_of_another_project_is_a_conflict(
    http: httpx.AsyncClient, keys: Keys, other_keys: Keys
) -> None:
    run_id = await make_run(http, keys.ingest)
    response = await http.post(
        "/runs", json={"id": run_id, "name": "x", "run_type": "llm"}, headers=h(other_keys.ingest)
    )
    assert response.status_code == 409 and "another project" in response.json()["detail"]
    response = await http.get(f"/runs/{run_id}", headers=h(other_keys.read))
    assert response.status_code == 404


async def test_runs_query(http: httpx.AsyncClient, keys: Keys) -> None:
    runs = [await make_run(http, keys.ingest) for _ in range(3)]

    async def query(body: dict[str, Any]) -> httpx.Response:
        return await http.post("/runs/query", json=body, headers=h(keys.read))

    page = (await query({"limit": 2})).json()
    assert [r["id"] for r in page["runs"]] == runs[:0:-1] and page["cursors"]["next"]
    rest = (await query({"limit": 2, "cursor": page["cursors"]["next"]})).json()
    assert [r["id"] for r in rest["runs"]] == runs[:1] and rest["cursors"]["next"] is None
    elsewhere = (await query({"session": [str(uuid.uuid4())]})).json()
    assert elsewhere["runs"] == []
    [default] = (
        await http.get("/sessions", params={"name": "default"}, headers=h(keys.read))
    ).json()
    mine = (await query({"session": [default["id"]], "id": runs[:1]})).json()
    assert [r["id"] for r in mine["runs"]] == runs[:1]

    both = (await query({"filter": 'eq(name, "chat")', "run_type": "llm"})).json()
    assert [r["id"] for r in both["runs"]] == runs[::-1]
    refused = await query({"trace_filter": 'eq(name, "chat")', "tree_filter": "x"})
    assert refused.status_code == 400
    assert "does not support trace_filter, tree_filter" in refused.json()["detail"]


async def test_sessions_are_tracing_projects_of_the_key_project(
    http: httpx.AsyncClient, keys: Keys, other_keys: Keys
) -> None:
    await make_run(http, keys.ingest, session_name="support")
    listed = (await http.get("/sessions", params={"name": "support"}, headers=h(keys.read))).json()
    [session] = listed
    assert session["name"] == "support" and session["tenant_id"] == keys.project_id
    assert session["run_count"] == 1
    assert (await http.get("/sessions", params={"name": "x"}, headers=h(keys.read))).json() == []
    mine = await http.get(f"/sessions/{session['id']}", headers=h(keys.read))
    assert mine.json()["name"] == "support"
    theirs = await http.get(f"/sessions/{session['id']}", headers=h(other_keys.read))
    assert theirs.status_code == 404
    elsewhere = await http.get("/sessions", params={"name": "support"}, headers=h(other_keys.read))
    assert elsewhere.json() == []


async def test_rule_errors_carry_their_details(http: httpx.AsyncClient, keys: Keys) -> None:
    config = {
        "feedback_key": "stars",
        "feedback_config": {"type": "continuous", "min": 1, "max": 5},
        "is_enforced": True,
    }
    assert (await http.post("/feedback-configs", json=config, headers=h(keys.admin))).is_success
    run_id = await make_run(http, keys.ingest)
    response = await http.post(
        "/feedback", json={"run_id": run_id, "key": "stars", "score": 9}, headers=h(keys.ingest)
    )
    assert response.status_code == 422
    body = response.json()
    assert "out of range" in body["detail"] and body["error"] == "bad_request"
    assert body["key"] == "stars" and body["allowed"]["max"] == 5

    refused = await http.post("/feedback-configs", json=config, headers=h(keys.ingest))
    assert refused.status_code == 403 and "cannot admin" in refused.json()["detail"]
