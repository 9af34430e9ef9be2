"""``POST /api/public/ingestion``: score-create events in Langfuse's batch, answered
207 with successes and errors by event id; scores on sessions and dataset runs."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from starlette.applications import Starlette

from app.domain import tracing_projects
from app.domain.datasets import create_dataset
from tests.compat.langfuse.helpers import key_pair
from tests.conftest import GraphQLClient, Keys, services

INGESTION = "/api/public/ingestion"
FEEDBACK = """query($k: String!) { feedback(filter: {keys: [$k]}) {
  nodes { id runId score value comment } } }"""
RUN = """query($id: ID!) { run(id: $id) { name sessionId metadata
  feedback { key score value } } }"""
TRACE = "cd" * 16


def _event(event_id: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "timestamp": "2026-01-01T00:00:00Z", "body": body}


async def test_a_mixed_batch_answers_each_event(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    batch = [
        _event("e1", "score-create", {"id": "s1", "traceId": TRACE, "name": "q", "value": 0.9}),
        _event(
            "e2", "score-create", {"traceId": TRACE, "name": "b", "value": 3, "dataType": "BOOLEAN"}
        ),
        _event("e3", "trace-create", {"id": str(uuid.uuid4()), "name": "legacy"}),
        _event("e4", "sdk-log", {"log": "hello"}),
        _event("e5", "made-up", {}),
        _event("e6", "score-create", {"traceId": TRACE, "value": 1}),
        _event("e7", "score-create", {"traceId": TRACE, "name": "c", "value": "nice"}),
    ]
    response = await http.post(
        INGESTION, json={"batch": batch, "metadata": {"sdk": "test"}}, headers=pair.basic()
    )
    assert response.status_code == 207, response.text
    answer = response.json()
    assert answer["successes"] == [
        {"id": "e1", "status": 201},
        {"id": "e4", "status": 201},
        {"id": "e7", "status": 201},
    ]
    errors = {e["id"]: e for e in answer["errors"]}
    assert set(errors) == {"e2", "e3", "e5", "e6"}
    assert errors["e2"]["status"] == 400 and "0 or 1" in errors["e2"]["message"]
    assert errors["e3"]["status"] == 501 and "/api/public/otel/v1/traces" in errors["e3"]["message"]
    assert errors["e5"]["status"] == 400 and "unknown event type" in errors["e5"]["message"]
    assert errors["e6"]["status"] == 400 and "name" in errors["e6"]["message"]
    assert all(e["error"] for e in answer["errors"])
    (stored,) = (await gql.ok(FEEDBACK, {"k": "q"}))["feedback"]["nodes"]
    assert (stored["runId"], stored["score"]) == (str(uuid.UUID(TRACE)), 0.9)
    assert (await gql.ok(FEEDBACK, {"k": "b"}))["feedback"]["nodes"] == []
    read = await http.get("/api/public/scores/s1", headers=pair.basic())
    assert read.status_code == 200 and read.json()["value"] == 0.9
    bad = await http.post(INGESTION, json={"events": []}, headers=pair.basic())
    assert bad.status_code == 400 and "batch" in bad.json()["message"]
    assert (await http.post(INGESTION, json={"batch": []})).status_code == 401


async def test_session_scores_are_feedback_on_the_sessions_run(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    scores = [
        {
            "id": "sess-1",
            "sessionId": "chat-9",
            "name": "helpful",
            "value": 1,
            "dataType": "BOOLEAN",
        },
        {"sessionId": "chat-9", "name": "rating", "value": 4},
        {"sessionId": "chat-10", "name": "rating", "value": 2},
    ]
    for score in scores:
        response = await http.post("/api/public/scores", json=score, headers=pair.basic())
        assert response.status_code == 200, response.text
    ratings = (await gql.ok(FEEDBACK, {"k": "rating"}))["feedback"]["nodes"]
    assert len({r["runId"] for r in ratings}) == 2
    (helpful,) = (await gql.ok(FEEDBACK, {"k": "helpful"}))["feedback"]["nodes"]
    run = (await gql.ok(RUN, {"id": helpful["runId"]}))["run"]
    assert (run["name"], run["sessionId"]) == ("session chat-9", "chat-9")
    assert run["metadata"] == {"langfuse.session": True}
    assert {f["key"]: f["score"] for f in run["feedback"]} == {"helpful": True, "rating": 4}
    read = await http.get("/api/public/scores/sess-1", headers=pair.basic())
    assert read.json()["subject"] == {"kind": "session", "id": "chat-9"}
    assert (read.json()["sessionId"], read.json()["traceId"]) == ("chat-9", None)
    listed = await http.get(
        "/api/public/v3/scores", params={"sessionId": "chat-9"}, headers=pair.basic()
    )
    assert sorted(s["name"] for s in listed.json()["data"]) == ["helpful", "rating"]
    # Feedback statistics grouped by session see them.
    stats = await gql.ok(
        """{ feedbackStats(filter: {keys: ["rating"]}, groupBy: [{dimension: SESSION}]) {
          groups { sessionId count } } }"""
    )
    groups = {g["sessionId"]: g["count"] for g in stats["feedbackStats"]["groups"]}
    assert groups == {"chat-9": 1, "chat-10": 1}


async def test_a_dataset_run_score_is_the_experiments_summary(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    pair = await key_pair(gql)
    stores = services(app).stores
    dataset = await create_dataset(stores, keys.project_id, "qa")
    experiment = await tracing_projects.create(
        stores, keys.project_id, "run-1", reference_dataset_id=dataset.id
    )
    score = {"datasetRunId": experiment.id, "name": "accuracy", "value": 0.75, "comment": "avg"}
    response = await http.post("/api/public/scores", json=score, headers=pair.basic())
    assert response.status_code == 200, response.text
    found = await stores.tracing_projects.get(keys.project_id, experiment.id)
    assert found is not None
    summary = found.summary_scores["accuracy"]
    assert (summary["score"], summary["comment"], summary["source_type"]) == (0.75, "avg", "api")
    plain = await tracing_projects.create(stores, keys.project_id, "not-an-experiment")
    refused = await http.post(
        "/api/public/scores", json={**score, "datasetRunId": plain.id}, headers=pair.basic()
    )
    assert refused.status_code == 400 and "not an experiment" in refused.json()["message"]


async def test_malformed_batches_are_clear_refusals(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    """What a broken client or an attacker sends: never a 500, each bad event named."""
    pair = await key_pair(gql)
    auth = pair.basic()
    for body in ({"batch": None}, {"batch": "x"}, [], None, {"batch": [1] * 501}):
        response = await http.post(INGESTION, json=body, headers=auth)
        assert 400 <= response.status_code < 500, (str(body)[:40], response.text)
        assert response.json()["message"]
    response = await http.post(INGESTION, content=b"{not json", headers=auth)
    assert 400 <= response.status_code < 500 and response.json()["message"]

    def score(event_id: str, **body: Any) -> dict[str, Any]:
        return {"id": event_id, "type": "score-create", "body": body}

    # An event whose envelope is wrong (not an object, a type not a string): the
    # batch is refused, naming it.
    for bad in (
        None,
        "event",
        {"id": "n5", "type": ["score-create"], "body": {}},
        {"id": None, "type": "score-create", "body": {}},
    ):
        response = await http.post(INGESTION, json={"batch": [bad]}, headers=auth)
        assert response.status_code == 400, response.text
        assert response.json()["field"].startswith("body.batch[0]")
    # Objects with bad contents: each event answered on its own.
    odd = [
        {"id": "n0", "type": "score-create", "body": None},
        score("n1", traceId=None, name="q", value=1),
        score("n2", traceId=TRACE, name="q", value=None),
        score("n4", traceId="x" * 10_000, name="q", value=1),
    ]
    response = await http.post(INGESTION, json={"batch": odd}, headers=auth)
    assert response.status_code == 207, response.text
    answer = response.json()
    assert answer["successes"] == []
    assert len(answer["errors"]) == len(odd)
    assert all(400 <= e["status"] < 500 and e["message"] for e in answer["errors"])
    assert (await gql.ok(FEEDBACK, {"k": "q"}))["feedback"]["nodes"] == []
    # A number no float holds (1e400 parses to infinity): the whole request is
    # refused by the shared decoder, naming the field.
    text = json.dumps({"batch": [score("n3", traceId=TRACE, name="q", value="INF")]})
    headers = {**auth, "content-type": "application/json"}
    response = await http.post(
        INGESTION, content=text.replace('"INF"', "1e400").encode(), headers=headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "number_out_of_range"
    assert response.json()["field"] == "batch[0].body.value"
