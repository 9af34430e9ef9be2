"""``POST /api/public/otel/v1/traces`` with hand-made spans carrying Langfuse's
attributes (the real SDK: test_sdk.py)."""

from __future__ import annotations

import json
import os
import uuid

import httpx

from app.domain.otel_ids import run_id_for_span
from tests.compat.langfuse.helpers import key_pair
from tests.compat.otlp.spans import export_request, make_span
from tests.conftest import GraphQLClient, Keys

PATH = "/api/public/otel/v1/traces"
PROTOBUF = {"Content-Type": "application/x-protobuf"}
RUN = """query($id: ID!) { run(id: $id) {
  id name traceId parentRunId model promptTokens completionTokens totalTokens
  inputs outputs metadata sessionId userId tags } }"""


async def test_langfuse_attributes_and_a_run_for_the_trace(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    pair = await key_pair(gql)
    trace = os.urandom(16)
    root = make_span(
        "handle-request",
        {
            "langfuse.trace.name": "chat turn",
            "user.id": "u-7",
            "session.id": "s-7",
            "langfuse.trace.tags": ["beta", "web"],
            "langfuse.trace.input": json.dumps({"question": "hi?"}),
            "langfuse.trace.output": json.dumps("hello"),
            "langfuse.observation.type": "span",
            "langfuse.trace.metadata.team": json.dumps("search"),
        },
        trace_id=trace,
        span_id=b"\x01" * 8,
    )
    generation = make_span(
        "llm-call",
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "gpt-x",
            "langfuse.observation.input": json.dumps([{"role": "user", "content": "hi?"}]),
            "langfuse.observation.output": json.dumps({"role": "assistant", "content": "hello"}),
            "langfuse.observation.usage_details": json.dumps({"input": 5, "output": 2, "total": 7}),
            "langfuse.observation.metadata.temperature": json.dumps(0.2),
        },
        trace_id=trace,
        span_id=b"\x02" * 8,
        parent=b"\x01" * 8,
    )
    response = await http.post(
        PATH,
        content=export_request([generation, root]).SerializeToString(),
        headers={**PROTOBUF, **pair.basic()},
    )
    assert response.status_code == 200, response.text
    trace_run_id = str(uuid.UUID(bytes=trace))
    trace_run = (await gql.ok(RUN, {"id": trace_run_id}))["run"]
    root_run = (await gql.ok(RUN, {"id": run_id_for_span(trace.hex(), "01" * 8)}))["run"]
    llm = (await gql.ok(RUN, {"id": run_id_for_span(trace.hex(), "02" * 8)}))["run"]
    assert trace_run["name"] == "chat turn"
    assert trace_run["traceId"] == trace_run_id and trace_run["parentRunId"] is None
    assert trace_run["inputs"] == {"question": "hi?"}
    assert trace_run["outputs"] == {"output": "hello"}
    assert (trace_run["userId"], trace_run["sessionId"], trace_run["tags"]) == (
        "u-7",
        "s-7",
        ["beta", "web"],
    )
    assert root_run["parentRunId"] == trace_run_id
    assert root_run["metadata"]["team"] == "search"
    assert root_run["metadata"]["ls_run_type"] == "chain"
    assert llm["parentRunId"] == root_run["id"]
    assert llm["metadata"]["ls_run_type"] == "llm"
    assert llm["model"] == "gpt-x"
    assert (llm["promptTokens"], llm["completionTokens"], llm["totalTokens"]) == (5, 2, 7)
    assert llm["inputs"] == {"input": [{"role": "user", "content": "hi?"}]}
    assert llm["outputs"] == {"role": "assistant", "content": "hello"}
    assert llm["metadata"]["temperature"] == 0.2
    assert "langfuse.observation.usage_details" not in llm["metadata"]


async def test_the_langfuse_path_needs_the_key_pair(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    body = export_request([make_span()]).SerializeToString()
    bearer = await http.post(
        PATH, content=body, headers={**PROTOBUF, "Authorization": f"Bearer {keys.ingest}"}
    )
    assert bearer.status_code == 401, bearer.text
    reader = await key_pair(gql, "READ")
    refused = await http.post(PATH, content=body, headers={**PROTOBUF, **reader.basic()})
    assert refused.status_code == 403, refused.text
    wrong_type = await http.post(
        PATH, content=b"x", headers={"Content-Type": "text/plain", **reader.basic()}
    )
    assert wrong_type.status_code == 415, wrong_type.text
