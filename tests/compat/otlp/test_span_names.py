"""A run sent as a span, named by its OTel trace id and span id: the GraphQL run
query, feedback and feedback tokens; and the errors when the naming is wrong."""

from __future__ import annotations

import httpx
import pytest

from app.domain.otel_ids import run_id_for_span
from tests.compat.otlp.spans import export_request, make_span
from tests.conftest import GraphQLClient, Keys

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
RUN = "query($id: ID, $t: String, $s: String) { run(id: $id, traceId: $t, spanId: $s) { id name } }"
FEEDBACK = "mutation($i: FeedbackInput!) { createFeedback(input: $i) { runId score } }"
TOKENS = """mutation($i: [FeedbackTokenInput!]!) {
  createFeedbackTokens(inputs: $i) { feedbackToken { runId key } } }"""


@pytest.fixture
async def span_run(http: httpx.AsyncClient, keys: Keys) -> str:
    span = make_span("named", trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(SPAN))
    response = await http.post(
        "/v1/traces",
        content=export_request([span]).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", "x-api-key": keys.ingest},
    )
    assert response.status_code == 200, response.text
    return run_id_for_span(TRACE, SPAN)


async def test_run_feedback_and_tokens_by_span(gql: GraphQLClient, span_run: str) -> None:
    by_span = await gql.ok(RUN, {"t": TRACE.upper(), "s": SPAN})
    assert by_span["run"] == {"id": span_run, "name": "named"}
    assert (await gql.ok(RUN, {"id": span_run}))["run"] == by_span["run"]
    # A span never sent: no run, not an error.
    assert (await gql.ok(RUN, {"t": TRACE, "s": "1" * 16}))["run"] is None
    feedback = await gql.ok(
        FEEDBACK, {"i": {"traceId": TRACE, "spanId": SPAN, "key": "thumbs", "score": 1}}
    )
    assert feedback["createFeedback"] == {"runId": span_run, "score": 1.0}
    tokens = await gql.ok(TOKENS, {"i": [{"traceId": TRACE, "spanId": SPAN, "key": "thumbs"}]})
    assert tokens["createFeedbackTokens"] == [
        {"feedbackToken": {"runId": span_run, "key": "thumbs"}}
    ]


@pytest.mark.parametrize(
    ("variables", "field", "words"),
    [
        ({}, "id", "name the run"),
        ({"t": TRACE}, "spanId", "together"),
        ({"s": SPAN}, "traceId", "together"),
        ({"id": "6f1c1c86-8f0c-4a8e-9a57-0a3f3f5d2a01", "t": TRACE, "s": SPAN}, "id", "not both"),
        ({"t": "xyz", "s": SPAN}, "traceId", "32 hex digits"),
        ({"t": TRACE, "s": "0" * 16}, "spanId", "all zeros"),
    ],
)
async def test_a_run_badly_named_is_a_clear_error(
    gql: GraphQLClient, variables: dict[str, str], field: str, words: str
) -> None:
    error = await gql.error(RUN, variables)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["extensions"]["field"] == field
    assert words in error["message"]


async def test_feedback_badly_named_is_a_clear_error(gql: GraphQLClient) -> None:
    error = await gql.error(FEEDBACK, {"i": {"traceId": TRACE, "key": "thumbs", "score": 1}})
    assert error["extensions"] == {"code": "BAD_REQUEST", "field": "spanId"}
    missing = await gql.error(FEEDBACK, {"i": {"key": "thumbs", "score": 1}})
    assert missing["extensions"] == {"code": "BAD_REQUEST", "field": "runId"}


async def test_langsmith_rest_feedback_by_span(
    http: httpx.AsyncClient, keys: Keys, span_run: str
) -> None:
    """LangSmith's /feedback has no span id: Plaudit's otel_trace_id and
    otel_span_id name the run a span became (trace_id keeps LangSmith's meaning)."""
    headers = {"x-api-key": keys.ingest}
    body = {"otel_trace_id": TRACE, "otel_span_id": SPAN, "key": "thumbs", "score": 1}
    created = await http.post("/feedback", json=body, headers=headers)
    assert created.status_code == 200, created.text
    assert created.json()["run_id"] == span_run
    both = await http.post("/feedback", json={**body, "run_id": span_run}, headers=headers)
    assert both.status_code == 400
    assert both.json()["field"] == "run_id" and "not both" in both.json()["detail"]
    half = await http.post(
        "/feedback", json={"otel_trace_id": TRACE, "key": "thumbs"}, headers=headers
    )
    assert half.status_code == 400 and half.json()["field"] == "otel_span_id"
