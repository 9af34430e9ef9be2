"""The Langfuse JS SDKs under Node.js (tests/js/langfuse/trace_and_read.mjs):
a trace from ``@langfuse/tracing`` through ``@langfuse/otel``'s span processor,
scores from ``@langfuse/client``, then the client's API reads: the trace, the
trace list, one observation and the observation lists (v1 and v2), the sessions
and one session, and the scores. Asserted here on what the client got and on
what Plaudit stored (GraphQL)."""

from __future__ import annotations

import uuid
from typing import Any

from app.domain.otel_ids import run_id_for_span
from tests.compat.langfuse.helpers import Pair
from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys
from tests.node import run_node

CREATE = """mutation { createApiKey(role: ADMIN, name: "langfuse-js", langfuse: true) {
  apiKey { id publicKey } secret } }"""
RUN = """query($id: ID!) { run(id: $id) { name parentRunId userId sessionId tags model
  promptTokens completionTokens feedback { key score comment } } }"""


def _env(live: LiveServer, pair: Pair) -> dict[str, str]:
    return {
        "LANGFUSE_BASE_URL": live.url,
        "LANGFUSE_PUBLIC_KEY": pair.public_key,
        "LANGFUSE_SECRET_KEY": pair.secret,
    }


def test_js_sdks_trace_score_and_read_back(live: LiveServer, keys: Keys) -> None:
    created = live.graphql(keys.admin, CREATE)["createApiKey"]
    pair = Pair(created["apiKey"]["id"], created["apiKey"]["publicKey"], created["secret"])
    session_id = f"js-{uuid.uuid4().hex[:8]}"
    result = run_node("langfuse/trace_and_read.mjs", session_id, env=_env(live, pair))
    written = result["written"]
    trace_id = written["trace"]
    assert written["scores"][1] == "js-quality-1"

    # api.trace.get: the trace, its observations (parents as the SDK made them)
    # and its scores.
    trace = result["trace"]
    assert (trace["id"], trace["name"], trace["userId"]) == (trace_id, "js chat", "grace")
    assert (trace["sessionId"], trace["tags"], trace["output"]) == (session_id, ["js"], "Snow.")
    observations = {o["name"]: o for o in trace["observations"]}
    assert set(observations) == {"js request", "retrieve", "js llm"}
    assert observations["js request"]["id"] == written["root"]
    assert observations["js request"]["parentObservationId"] is None
    assert observations["retrieve"]["parentObservationId"] == written["root"]
    assert observations["retrieve"]["type"] == "RETRIEVER"
    llm = observations["js llm"]
    assert (llm["id"], llm["type"], llm["model"]) == (written["generation"], "GENERATION", "gpt-js")
    assert llm["input"] == [{"role": "user", "content": "Weather in Oslo?"}]
    assert llm["usageDetails"] == {"input": 7, "output": 3, "total": 10}
    assert llm["startTime"].endswith("Z")
    scores = {s["name"]: s for s in trace["scores"]}
    assert (scores["helpful"]["value"], scores["helpful"]["stringValue"]) == (1, "True")
    assert scores["quality"]["observationId"] == written["generation"]
    assert (scores["quality"]["value"], scores["quality"]["comment"]) == (0.9, "crisp")
    # langfuse.score.create: score-create events through /api/public/ingestion.
    assert (scores["tone"]["id"], scores["tone"]["stringValue"]) == ("js-tone-1", "friendly")
    assert scores["tone"]["dataType"] == "CATEGORICAL"
    session_scores = result["sessionScores"]["data"]
    assert [(s["name"], s["sessionId"]) for s in session_scores] == [("session ok", session_id)]

    # The lists and single reads.
    assert [t["id"] for t in result["traces"]["data"]] == [trace_id]
    listed = result["traces"]["data"][0]
    assert set(listed["observations"]) == {o["id"] for o in trace["observations"]}
    assert set(listed["scores"]) == {*written["scores"], "js-tone-1"}
    assert result["traces"]["meta"] == {"page": 1, "limit": 10, "totalItems": 1, "totalPages": 1}
    assert result["observation"]["id"] == written["generation"]
    assert result["observation"]["parentObservationId"] == written["root"]
    assert [o["id"] for o in result["observations"]["data"]] == [written["generation"]]
    v2 = result["observationsV2"]
    assert len(v2["data"]) == 2 and v2["meta"]["cursor"]
    assert {o["traceName"] for o in v2["data"]} == {"js chat"}
    assert session_id in [s["id"] for s in result["sessions"]["data"]]
    session: dict[str, Any] = result["session"]
    assert [t["id"] for t in session["traces"]] == [trace_id]
    assert {s["name"] for s in result["scores"]["data"]} == {"helpful", "quality", "tone"}

    # What Plaudit stored: the trace's run and the generation's, with the scores.
    run = live.graphql(keys.read, RUN, {"id": str(uuid.UUID(trace_id))})["run"]
    assert (run["name"], run["userId"], run["sessionId"]) == ("js chat", "grace", session_id)
    assert sorted(run["feedback"], key=lambda f: f["key"]) == [
        {"key": "helpful", "score": True, "comment": None},
        {"key": "tone", "score": None, "comment": None},
    ]
    generation_id = run_id_for_span(trace_id, written["generation"])
    generation = live.graphql(keys.read, RUN, {"id": generation_id})["run"]
    assert (generation["model"], generation["promptTokens"], generation["completionTokens"]) == (
        "gpt-js",
        7,
        3,
    )
    assert generation["feedback"] == [{"key": "quality", "score": 0.9, "comment": "crisp"}]
