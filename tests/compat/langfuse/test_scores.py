"""``/api/public/scores``: Langfuse scores as Plaudit feedback (the real SDK: test_sdk.py)."""

from __future__ import annotations

import os
import uuid

import httpx

from app.domain.otel_ids import run_id_for_span
from tests.compat.langfuse.helpers import Pair, key_pair
from tests.compat.otlp.spans import export_request, make_span
from tests.conftest import GraphQLClient

FEEDBACK = """query($id: ID!) { run(id: $id) { feedback {
  id key score value comment sourceType userId pending } } }"""
PENDING = """query($k: String!) { feedback(filter: {keys: [$k]}) {
  nodes { runId pending score } } }"""


async def _trace(http: httpx.AsyncClient, pair: Pair) -> bytes:
    trace = os.urandom(16)
    spans = [
        make_span("root", trace_id=trace, span_id=b"\x01" * 8),
        make_span("child", trace_id=trace, span_id=b"\x02" * 8, parent=b"\x01" * 8),
    ]
    response = await http.post(
        "/api/public/otel/v1/traces",
        content=export_request(spans).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", **pair.basic()},
    )
    assert response.status_code == 200, response.text
    return trace


async def test_each_data_type_on_a_trace_and_an_observation(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    trace = await _trace(http, pair)
    t = trace.hex()
    scores = [
        {"id": "s-num", "traceId": t, "name": "quality", "value": 0.8, "comment": "good"},
        {"traceId": t, "name": "thumbs", "value": 1, "dataType": "BOOLEAN", "source": "ANNOTATION"},
        {"traceId": t, "name": "tone", "value": "friendly", "dataType": "CATEGORICAL"},
        {
            "traceId": t,
            "observationId": "02" * 8,
            "name": "note",
            "value": "too long",
            "dataType": "TEXT",
            "source": "EVAL",
            "metadata": {"judge": "j-1"},
        },
    ]
    response = await http.post("/api/public/scores", json=scores, headers=pair.basic())
    assert response.status_code == 202, response.text
    assert response.json() == {"message": "Accepted"}
    on_trace = (await gql.ok(FEEDBACK, {"id": str(uuid.UUID(bytes=trace))}))["run"]["feedback"]
    by_key = {f["key"]: f for f in on_trace}
    assert by_key["quality"]["score"] == 0.8 and by_key["quality"]["comment"] == "good"
    assert by_key["thumbs"]["score"] is True and by_key["thumbs"]["sourceType"] == "HUMAN"
    assert by_key["tone"]["value"] == "friendly" and by_key["tone"]["score"] is None
    child = run_id_for_span(t, "02" * 8)
    (note,) = (await gql.ok(FEEDBACK, {"id": child}))["run"]["feedback"]
    assert (note["key"], note["value"], note["sourceType"]) == ("note", "too long", "MODEL")
    # Read back as Langfuse scores.
    one = await http.get("/api/public/scores/s-num", headers=pair.basic())
    assert one.status_code == 200, one.text
    assert one.json()["id"] == "s-num"
    assert (one.json()["dataType"], one.json()["value"]) == ("NUMERIC", 0.8)
    assert one.json()["subject"] == {"kind": "trace", "id": t}
    listed = await http.get("/api/public/v3/scores", params={"traceId": t}, headers=pair.basic())
    assert listed.status_code == 200, listed.text
    values = {s["name"]: (s["dataType"], s["value"]) for s in listed.json()["data"]}
    assert values == {
        "quality": ("NUMERIC", 0.8),
        "thumbs": ("BOOLEAN", True),
        "tone": ("CATEGORICAL", "friendly"),
        "note": ("TEXT", "too long"),
    }
    only = await http.get(
        "/api/public/v3/scores",
        params={"observationId": "02" * 8, "traceId": t},
        headers=pair.basic(),
    )
    (text,) = only.json()["data"]
    assert text["metadata"] == {"judge": "j-1"}
    assert text["subject"] == {"kind": "observation", "id": "02" * 8, "traceId": t}
    evals = await http.get("/api/public/v3/scores", params={"source": "EVAL"}, headers=pair.basic())
    assert [s["name"] for s in evals.json()["data"]] == ["note"]


async def test_a_repeated_id_updates_the_score_and_delete_removes_it(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    trace = (await _trace(http, pair)).hex()
    first = {"id": "mine-1", "traceId": trace, "name": "quality", "value": 0.2}
    created = await http.post("/api/public/scores", json=first, headers=pair.basic())
    assert created.status_code == 200, created.text
    assert created.json() == {"id": "mine-1"}
    again = await http.post(
        "/api/public/scores", json={**first, "value": 0.9, "comment": "fixed"}, headers=pair.basic()
    )
    assert again.status_code == 200, again.text
    (record,) = (await gql.ok(FEEDBACK, {"id": str(uuid.UUID(hex=trace))}))["run"]["feedback"]
    assert (record["score"], record["comment"]) == (0.9, "fixed")
    moved = await http.post(
        "/api/public/scores", json={**first, "name": "other"}, headers=pair.basic()
    )
    assert moved.status_code == 400
    assert "cannot change" in moved.json()["message"]
    deleted = await http.delete("/api/public/scores/mine-1", headers=pair.basic())
    assert deleted.status_code == 200, deleted.text
    assert (await http.get("/api/public/scores/mine-1", headers=pair.basic())).status_code == 404
    assert (await gql.ok(FEEDBACK, {"id": str(uuid.UUID(hex=trace))}))["run"]["feedback"] == []
    gone = await http.delete("/api/public/scores/mine-1", headers=pair.basic())
    assert gone.status_code == 404
    revived = await http.post("/api/public/scores", json=first, headers=pair.basic())
    assert revived.status_code == 409, revived.text
    assert (await gql.ok(FEEDBACK, {"id": str(uuid.UUID(hex=trace))}))["run"]["feedback"] == []


async def test_feedback_from_elsewhere_reads_as_scores(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    trace = (await _trace(http, pair)).hex()
    run = str(uuid.UUID(hex=trace))
    create = "mutation($input: FeedbackInput!) { createFeedback(input: $input) { id } }"
    for given in (
        {"key": "thumbs", "score": True},
        {"key": "stars", "score": 4},
        {"key": "why", "comment": "slow"},
        {"key": "fix", "value": {"better": "answer"}},
    ):
        await gql.ok(create, {"input": {"runId": run, **given}})
    listed = await http.get(
        "/api/public/v3/scores", params={"traceId": trace}, headers=pair.basic()
    )
    assert listed.status_code == 200, listed.text
    values = {s["name"]: (s["dataType"], s["value"]) for s in listed.json()["data"]}
    assert values == {
        "thumbs": ("BOOLEAN", True),
        "stars": ("NUMERIC", 4),
        "why": ("TEXT", "slow"),
        "fix": ("TEXT", '{"better": "answer"}'),
    }


async def test_a_score_before_its_trace_waits_then_attaches(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    trace = os.urandom(16)
    score = {"id": str(uuid.uuid4()), "traceId": trace.hex(), "name": "early", "value": 1.0}
    response = await http.post("/api/public/scores", json=score, headers=pair.basic())
    assert response.status_code == 200, response.text
    (waiting,) = (await gql.ok(PENDING, {"k": "early"}))["feedback"]["nodes"]
    assert waiting["pending"] is True
    root = make_span("root", trace_id=trace, span_id=b"\x01" * 8)
    sent = await http.post(
        "/api/public/otel/v1/traces",
        content=export_request([root]).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", **pair.basic()},
    )
    assert sent.status_code == 200
    (arrived,) = (await gql.ok(PENDING, {"k": "early"}))["feedback"]["nodes"]
    assert arrived == {"runId": str(uuid.UUID(bytes=trace)), "pending": False, "score": 1.0}


async def test_bad_scores_get_a_clear_4xx(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    pair = await key_pair(gql)
    t = "ab" * 16
    cases = [
        ({"traceId": t, "name": "b", "value": 2, "dataType": "BOOLEAN"}, "0 or 1"),
        ({"traceId": t, "name": "n", "value": "x", "dataType": "NUMERIC"}, "must be a number"),
        ({"traceId": t, "name": "c", "value": 3, "dataType": "CATEGORICAL"}, "must be a string"),
        ({"datasetRunId": "run-1", "name": "s", "value": 1}, "datasetRunId must be"),
        ({"name": "x", "value": 1}, "needs a traceId"),
        ({"traceId": t, "observationId": "zz", "name": "o", "value": 1}, "observationId"),
        ({"traceId": t, "name": "d", "value": 1, "dataType": "PERCENT"}, "dataType"),
    ]
    for body, says in cases:
        response = await http.post("/api/public/scores", json=body, headers=pair.basic())
        assert response.status_code == 400, (body, response.text)
        assert says in response.json()["message"], (body, response.json())
    mixed = await http.post(
        "/api/public/scores",
        json=[cases[0][0], {"traceId": t, "name": "fine", "value": 0.5}],
        headers=pair.basic(),
    )
    assert mixed.status_code == 207, mixed.text
    answer = mixed.json()
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert "0 or 1" in answer["errors"][0]["message"]
