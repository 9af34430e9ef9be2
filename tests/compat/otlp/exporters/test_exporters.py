"""The real OpenTelemetry SDK exporting to a live Plaudit: the OTLP/HTTP protobuf
exporter with OpenInference's instrumentation of the real openai client (talking to
a fake OpenAI-compatible server), and the OTLP/HTTP JSON exporter with GenAI spans.
Spans are exported by a SimpleSpanProcessor, so each export has been answered when
its span ends: the test reads back what was stored, with no waiting."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.json.http.trace_exporter import (
    OTLPSpanExporter as JsonSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Status, StatusCode

from tests.autofeedback.fake_llm import FakeLLM, Reply, running_fake_llm
from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

RUN = """query($t: String!, $s: String!) { run(traceId: $t, spanId: $s) {
  id name traceId parentRunId model promptTokens completionTokens totalTokens error
  inputs outputs metadata sessionId userId tags tracingProject { name }
  feedbackStats { key count mean } } }"""
FEEDBACK = (
    """mutation($input: FeedbackInput!) { createFeedback(input: $input) { id run { id } } }"""
)


class Recording(SpanExporter):
    """Passes spans to the real exporter and keeps them and its results."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter
        self.spans: list[ReadableSpan] = []
        self.results: list[SpanExportResult] = []

    def export(self, spans: Any) -> SpanExportResult:
        self.spans += spans
        result = self.exporter.export(spans)
        self.results.append(result)
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()


def ids(span: ReadableSpan) -> dict[str, str]:
    context = span.get_span_context()
    assert context is not None
    return {"t": f"{context.trace_id:032x}", "s": f"{context.span_id:016x}"}


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with running_fake_llm() as fake:
        fake.responder = lambda body: Reply(content="Sunny, 21 degrees.")
        yield fake


def test_openinference_openai_through_the_protobuf_exporter(
    live: LiveServer, keys: Keys, fake_llm: FakeLLM
) -> None:
    exporter = Recording(
        OTLPSpanExporter(
            endpoint=f"{live.url}/v1/traces",
            headers={"Authorization": f"Bearer {keys.ingest}"},
            compression=Compression.Gzip,
        )
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "weather-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=fake_llm.url, api_key="sk-test", max_retries=0)
        tracer = provider.get_tracer("weather")
        with tracer.start_as_current_span(
            "answer",
            attributes={
                "openinference.span.kind": "CHAIN",
                "input.value": "Weather in Paris?",
                "session.id": "chat-1",
                "user.id": "ada",
            },
        ) as root:
            reply = client.chat.completions.create(
                model="gpt-test",
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Weather in Paris?"},
                ],
            )
            root.set_attribute("output.value", reply.choices[0].message.content or "")
        client.close()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    assert exporter.results == [SpanExportResult.SUCCESS, SpanExportResult.SUCCESS]
    llm_span, root_span = exporter.spans
    llm = live.graphql(keys.read, RUN, ids(llm_span))["run"]
    answer = live.graphql(keys.read, RUN, ids(root_span))["run"]
    assert answer["name"] == "answer"
    assert answer["inputs"] == {"input": "Weather in Paris?"}
    assert answer["outputs"] == {"output": "Sunny, 21 degrees."}
    assert (answer["sessionId"], answer["userId"]) == ("chat-1", "ada")
    assert answer["tracingProject"] == {"name": "weather-bot"}
    assert llm["parentRunId"] == answer["id"]
    assert llm["traceId"] == answer["traceId"] == str(uuid.UUID(ids(root_span)["t"]))
    assert llm["model"] == "gpt-test"
    assert (llm["promptTokens"], llm["completionTokens"], llm["totalTokens"]) == (1, 1, 2)
    assert llm["metadata"]["ls_run_type"] == "llm"
    assert llm["inputs"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    assert llm["outputs"]["messages"] == [{"role": "assistant", "content": "Sunny, 21 degrees."}]
    assert llm["error"] is None

    # A thumbs-up by the OTel ids alone, seen in the run's stats.
    created = live.graphql(
        keys.ingest,
        FEEDBACK,
        {
            "input": {
                "traceId": ids(llm_span)["t"],
                "spanId": ids(llm_span)["s"],
                "key": "thumbs",
                "score": 1,
            }
        },
    )["createFeedback"]
    assert created["run"]["id"] == llm["id"]
    stats = live.graphql(keys.read, RUN, ids(llm_span))["run"]["feedbackStats"]
    assert stats == [{"key": "thumbs", "count": 1, "mean": 1.0}]


def test_genai_spans_through_the_json_exporter(
    live: LiveServer, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an operator sets: the key in the standard header variable.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", f"Authorization=Bearer%20{keys.ingest}")
    exporter = Recording(JsonSpanExporter(endpoint=f"{live.url}/v1/traces"))
    provider = TracerProvider(resource=Resource.create({"service.name": "genai-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("genai")
    try:
        with tracer.start_as_current_span("invoke_agent planner") as agent:
            agent.set_attribute("gen_ai.operation.name", "invoke_agent")
            with tracer.start_as_current_span("chat gpt-4o") as chat:
                chat.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": "gpt-4o",
                        "gen_ai.response.model": "gpt-4o-2024-08-06",
                        "gen_ai.usage.input_tokens": 40,
                        "gen_ai.usage.output_tokens": 9,
                        "gen_ai.conversation.id": "conv-9",
                        "gen_ai.input.messages": json.dumps(
                            [{"role": "user", "parts": [{"type": "text", "content": "Plan"}]}]
                        ),
                        "gen_ai.output.messages": json.dumps(
                            [{"role": "assistant", "parts": [{"type": "text", "content": "1."}]}]
                        ),
                        "app.tenant": "acme",
                    }
                )
            with tracer.start_as_current_span("execute_tool search") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.add_event("gen_ai.user.message", {"content": "old-style event"})
                try:
                    raise TimeoutError("search backend timed out")
                except TimeoutError as exc:
                    tool.record_exception(exc)
                    tool.set_status(Status(StatusCode.ERROR, "timed out"))
    finally:
        provider.shutdown()
    assert exporter.results == [SpanExportResult.SUCCESS] * 3
    chat_span, tool_span, agent_span = exporter.spans
    chat = live.graphql(keys.read, RUN, ids(chat_span))["run"]
    tool = live.graphql(keys.read, RUN, ids(tool_span))["run"]
    agent = live.graphql(keys.read, RUN, ids(agent_span))["run"]
    assert chat["parentRunId"] == tool["parentRunId"] == agent["id"]
    assert chat["model"] == "gpt-4o-2024-08-06"
    assert (chat["promptTokens"], chat["completionTokens"], chat["totalTokens"]) == (40, 9, 49)
    assert chat["sessionId"] == "conv-9"
    assert chat["inputs"]["messages"][0]["parts"][0]["content"] == "Plan"
    assert chat["outputs"]["messages"][0]["parts"][0]["content"] == "1."
    assert chat["metadata"]["app.tenant"] == "acme"
    assert chat["metadata"]["ls_run_type"] == "llm"
    assert chat["tracingProject"] == {"name": "genai-app"}
    assert tool["metadata"]["ls_run_type"] == "tool"
    assert tool["error"].startswith("TimeoutError: search backend timed out")
    assert tool["inputs"] == {"messages": [{"role": "user", "content": "old-style event"}]}
    assert agent["metadata"]["ls_run_type"] == "chain"
