"""The real Langfuse Python SDK (5.x) against a live Plaudit: nested observations
(``@observe`` and ``start_as_current_observation``) exported over OTLP, scores on
the trace and on an observation, ``flush()``, then everything read back through
the SDK's own API client and through GraphQL. ``flush()`` returns once the span
exports and the score batch have been answered, so nothing is waited for."""

from __future__ import annotations

import uuid

from langfuse import Langfuse, observe, propagate_attributes

from app.domain.otel_ids import run_id_for_span
from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

CREATE = """mutation { createApiKey(role: ADMIN, name: "langfuse", langfuse: true) {
  apiKey { publicKey } secret } }"""
RUN = """query($id: ID!) { run(id: $id) {
  id name parentRunId model promptTokens completionTokens totalTokens
  inputs outputs sessionId userId tags metadata
  feedback { key score value comment sourceType } } }"""


def test_sdk_traces_and_scores(live: LiveServer, keys: Keys) -> None:
    created = live.graphql(keys.admin, CREATE)["createApiKey"]
    client = Langfuse(
        public_key=created["apiKey"]["publicKey"],
        secret_key=created["secret"],
        base_url=live.url,
    )
    seen: dict[str, str] = {}

    @observe(name="retrieve")
    def retrieve(question: str) -> list[str]:
        return ["doc-1"]

    @observe()
    def answer(question: str) -> str:
        retrieve(question)
        with client.start_as_current_observation(
            name="llm-call",
            as_type="generation",
            model="gpt-test",
            input=[{"role": "user", "content": question}],
        ) as generation:
            generation.update(output="Sunny.", usage_details={"input": 5, "output": 2})
            seen["generation"] = generation.id
        return "Sunny."

    try:
        with client.start_as_current_observation(name="request", as_type="span") as root:
            with propagate_attributes(
                trace_name="weather chat", user_id="ada", session_id="chat-1", tags=["beta"]
            ):
                # The key names the client: other tests' clients live in this process too.
                answer("Weather in Paris?", langfuse_public_key=created["apiKey"]["publicKey"])  # type: ignore[call-arg]
            seen["trace"], seen["root"] = root.trace_id, root.id
        trace_id = seen["trace"]
        client.create_score(trace_id=trace_id, name="thumbs", value=1, data_type="BOOLEAN")
        client.create_score(
            trace_id=trace_id, name="tone", value="friendly", data_type="CATEGORICAL"
        )
        client.create_score(
            trace_id=trace_id,
            observation_id=seen["generation"],
            name="quality",
            value=0.75,
            comment="fine",
            score_id="quality-1",
        )
        client.flush()
        read_back = client.api.scores.get_many(trace_id=trace_id)
    finally:
        client.shutdown()

    # Through the SDK's own client (its models parse Plaudit's answer).
    by_name = {score.name: score for score in read_back.data}
    assert set(by_name) == {"thumbs", "tone", "quality"}
    assert by_name["thumbs"].value is True
    assert by_name["tone"].value == "friendly"
    assert (by_name["quality"].value, by_name["quality"].id) == (0.75, "quality-1")

    # Through GraphQL: the trace's run, with the trace's attributes and scores.
    trace = live.graphql(keys.read, RUN, {"id": str(uuid.UUID(trace_id))})["run"]
    assert trace["name"] == "weather chat"
    assert (trace["userId"], trace["sessionId"], trace["tags"]) == ("ada", "chat-1", ["beta"])
    feedback = {f["key"]: f for f in trace["feedback"]}
    assert feedback["thumbs"]["score"] is True
    assert feedback["tone"]["value"] == "friendly"
    root = live.graphql(keys.read, RUN, {"id": run_id_for_span(trace_id, seen["root"])})["run"]
    assert root["name"] == "request" and root["parentRunId"] == trace["id"]
    llm = live.graphql(keys.read, RUN, {"id": run_id_for_span(trace_id, seen["generation"])})["run"]
    assert llm["name"] == "llm-call"
    assert llm["model"] == "gpt-test"
    assert (llm["promptTokens"], llm["completionTokens"], llm["totalTokens"]) == (5, 2, 7)
    assert llm["metadata"]["ls_run_type"] == "llm"
    assert llm["inputs"] == {"input": [{"role": "user", "content": "Weather in Paris?"}]}
    assert llm["outputs"] == {"output": "Sunny."}
    (quality,) = llm["feedback"]
    assert (quality["key"], quality["score"], quality["comment"]) == ("quality", 0.75, "fine")
    # The @observe functions nest under the root span, in the same trace.
    answer_run = live.graphql(keys.read, RUN, {"id": llm["parentRunId"]})["run"]
    assert answer_run["name"] == "answer" and answer_run["parentRunId"] == root["id"]
