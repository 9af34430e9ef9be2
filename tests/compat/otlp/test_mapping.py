"""The span-to-run mapping (app/compat/otlp/mapping.py), span by span: no server."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from app.compat.otlp.mapping import span_to_run
from app.domain.missing import MISSING
from app.domain.otel_ids import run_id_for_span
from app.errors import BadRequest
from tests.compat.otlp.spans import make_span

TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN = bytes.fromhex("b7ad6b7169203331")
PARENT = bytes.fromhex("00f067aa0ba902b7")


def test_ids_times_and_parent_come_from_the_span() -> None:
    run = span_to_run(make_span("agent", trace_id=TRACE, span_id=SPAN, parent=PARENT), {})
    assert run.id == run_id_for_span(TRACE.hex(), SPAN.hex())
    assert run.id == str(
        uuid.uuid5(uuid.UUID("7f1d4c52-3b1e-5c0a-9a4e-6f7c0d2b8e11"), f"{TRACE.hex()}-{SPAN.hex()}")
    )
    assert run.trace_id == "0af76519-16cd-43dd-8448-eb211c80319c"
    assert run.parent_run_id == run_id_for_span(TRACE.hex(), PARENT.hex())
    assert run.name == "agent"
    assert run.start_time == datetime(2026, 1, 1, tzinfo=UTC)
    assert (run.end_time - run.start_time).total_seconds() == 0.25
    assert run.metadata["otel.trace_id"] == TRACE.hex()
    assert run.metadata["otel.span_id"] == SPAN.hex()
    assert run.metadata["otel.span_kind"] == "internal"


def test_a_span_sent_twice_is_the_same_run_and_another_trace_another() -> None:
    first = span_to_run(make_span(trace_id=TRACE, span_id=SPAN), {})
    again = span_to_run(make_span(trace_id=TRACE, span_id=SPAN), {})
    other = span_to_run(make_span(trace_id=bytes(15) + b"\x01", span_id=SPAN), {})
    assert first.id == again.id
    assert other.id != first.id
    root = span_to_run(make_span(trace_id=TRACE, span_id=SPAN), {})
    assert root.parent_run_id is None


def test_openinference_llm_span() -> None:
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.token_count.prompt": 12,
        "llm.token_count.completion": 5,
        "llm.token_count.total": 17,
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "Hi",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Hello!",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
        "input.value": '{"messages": []}',
        "input.mime_type": "application/json",
        "output.value": "{}",
        "llm.invocation_parameters": '{"temperature": 0}',
        "session.id": "conversation-7",
        "user.id": "user-42",
        "tag.tags": ["beta", "checkout"],
        "metadata": json.dumps({"release": "2026.1"}),
    }
    run = span_to_run(make_span("ChatCompletion", attrs), {})
    assert run.model == "gpt-4o-mini"
    assert (run.prompt_tokens, run.completion_tokens, run.total_tokens) == (12, 5, 17)
    assert run.inputs == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "contents": [{"type": "text", "text": "Hi"}]},
        ]
    }
    assert run.outputs == {
        "messages": [
            {
                "role": "assistant",
                "content": "Hello!",
                "tool_calls": [{"function": {"name": "lookup"}}],
            }
        ]
    }
    assert run.session_id == "conversation-7"
    assert run.user_id == "user-42"
    assert run.tags == ["beta", "checkout"]
    metadata = run.metadata
    assert metadata["ls_run_type"] == "llm"
    assert metadata["release"] == "2026.1"
    assert metadata["llm.invocation_parameters"] == '{"temperature": 0}'
    assert metadata["openinference.span.kind"] == "LLM"
    # Taken into fields: not repeated in the metadata.
    for key in ("llm.model_name", "input.value", "session.id", "metadata", "tag.tags"):
        assert key not in metadata
    assert not any(k.startswith("llm.input_messages") for k in metadata)


def test_openinference_chain_with_text_and_json_values() -> None:
    run = span_to_run(
        make_span(
            "pipeline",
            {
                "openinference.span.kind": "CHAIN",
                "input.value": "what is 2+2?",
                "output.value": '{"answer": 4}',
                "output.mime_type": "application/json",
            },
        ),
        {},
    )
    assert run.inputs == {"input": "what is 2+2?"}
    assert run.outputs == {"answer": 4}
    assert run.metadata["ls_run_type"] == "chain"


@pytest.mark.parametrize(
    ("kind", "run_type"),
    [
        ("TOOL", "tool"),
        ("RETRIEVER", "retriever"),
        ("EMBEDDING", "embedding"),
        ("AGENT", "chain"),
        ("RERANKER", "retriever"),
        ("SOMETHING_NEW", "chain"),
    ],
)
def test_openinference_span_kinds(kind: str, run_type: str) -> None:
    run = span_to_run(make_span(attrs={"openinference.span.kind": kind}), {})
    assert run.metadata["ls_run_type"] == run_type


def test_genai_attributes_current_convention() -> None:
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 30,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.conversation.id": "conv-1",
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be kind."}]),
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Weather?"}]}]
        ),
        "gen_ai.output.messages": json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": "Sunny."}],
                    "finish_reason": "stop",
                }
            ]
        ),
    }
    run = span_to_run(make_span("chat gpt-4o", attrs), {})
    assert run.model == "gpt-4o-2024-08-06"
    assert (run.prompt_tokens, run.completion_tokens) == (30, 7)
    assert run.session_id == "conv-1"
    assert run.inputs["messages"] == [
        {"role": "system", "parts": [{"type": "text", "content": "Be kind."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
    ]
    assert run.outputs["messages"][0]["parts"][0]["content"] == "Sunny."
    assert run.metadata["ls_run_type"] == "llm"
    assert run.metadata["gen_ai.provider.name"] == "openai"
    assert "gen_ai.input.messages" not in run.metadata
    assert "gen_ai.usage.input_tokens" not in run.metadata


def test_genai_events_earlier_convention() -> None:
    events = [
        ("gen_ai.system.message", {"gen_ai.system": "openai", "content": "Be kind."}),
        ("gen_ai.user.message", {"content": "Weather?"}),
        (
            "gen_ai.choice",
            {
                "index": 0,
                "finish_reason": "stop",
                "message": json.dumps({"role": "assistant", "content": "Sunny."}),
            },
        ),
        ("cache.miss", {"key": "weather"}),
    ]
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.prompt_tokens": 9,
        "gen_ai.usage.completion_tokens": 2,
    }
    run = span_to_run(make_span("chat", attrs, events=events), {})
    assert run.inputs == {
        "messages": [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Weather?"},
        ]
    }
    assert run.outputs == {
        "messages": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Sunny."},
            }
        ]
    }
    assert (run.prompt_tokens, run.completion_tokens) == (9, 2)
    assert run.model == "gpt-4o"
    # The event that is no message is kept.
    assert run.metadata["otel.events"] == [{"name": "cache.miss", "attributes": {"key": "weather"}}]


def test_genai_content_events_and_openllmetry_attributes() -> None:
    events = [
        (
            "gen_ai.content.prompt",
            {"gen_ai.prompt": json.dumps([{"role": "user", "content": "A"}])},
        ),
        (
            "gen_ai.content.completion",
            {"gen_ai.completion": json.dumps([{"role": "assistant", "content": "B"}])},
        ),
    ]
    run = span_to_run(make_span(events=events), {})
    assert run.inputs == {"messages": [{"role": "user", "content": "A"}]}
    assert run.outputs == {"messages": [{"role": "assistant", "content": "B"}]}
    openllmetry = span_to_run(
        make_span(
            attrs={
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "C",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": "D",
            }
        ),
        {},
    )
    assert openllmetry.inputs == {"messages": [{"role": "user", "content": "C"}]}
    assert openllmetry.outputs == {"messages": [{"role": "assistant", "content": "D"}]}


def test_errors_from_exception_events_and_status() -> None:
    failed = span_to_run(
        make_span(
            status=Status.STATUS_CODE_ERROR,
            status_message="boom",
            events=[
                (
                    "exception",
                    {
                        "exception.type": "ValueError",
                        "exception.message": "no such city",
                        "exception.stacktrace": "Traceback ...",
                    },
                )
            ],
        ),
        {},
    )
    assert failed.error == "ValueError: no such city\nTraceback ..."
    assert "otel.events" not in failed.metadata
    status_only = span_to_run(make_span(status=Status.STATUS_CODE_ERROR, status_message="boom"), {})
    assert status_only.error == "boom"
    ok = span_to_run(make_span(status=Status.STATUS_CODE_OK), {})
    assert ok.error is MISSING


def test_tracing_project_from_header_resource_or_service() -> None:
    span = make_span()
    assert span_to_run(span, {"service.name": "shop"}).tracing_project_name == "shop"
    assert (
        span_to_run(
            span, {"service.name": "shop", "openinference.project.name": "evals"}
        ).tracing_project_name
        == "evals"
    )
    assert (
        span_to_run(span, {"service.name": "shop"}, None, "given").tracing_project_name == "given"
    )
    assert (
        span_to_run(span, {"service.name": "unknown_service:python"}).tracing_project_name
        is MISSING
    )
    assert span_to_run(span, {"service.name": "shop", "host.name": "a"}).metadata[
        "otel.resource"
    ] == {"service.name": "shop", "host.name": "a"}


def test_unknown_attributes_go_to_metadata_and_long_ones_are_cut() -> None:
    attrs = {
        "app.feature": "search",
        "app.retries": 3,
        "app.ratio": 0.5,
        "app.flags": [True, False],
        "app.blob": b"\x00\x01",
        "app.nested": {"a": {"b": 1}},
        "app.long": "x" * 10_000,
        "app.nan": float("nan"),
        "bad\x00key": 1,
    }
    run = span_to_run(make_span(attrs=attrs), {})
    metadata = run.metadata
    assert metadata["app.feature"] == "search"
    assert metadata["app.retries"] == 3
    assert metadata["app.ratio"] == 0.5
    assert metadata["app.flags"] == [True, False]
    assert metadata["app.blob"] == "AAE="
    assert metadata["app.nested"] == {"a": {"b": 1}}
    assert metadata["app.nan"] == "nan"
    assert metadata["bad\ufffdkey"] == 1
    assert metadata["app.long"].startswith("x" * 4096)
    assert metadata["app.long"].endswith("[cut: 10000 characters]")
    assert metadata["ls_run_type"] == "chain"


def test_token_counts_that_are_not_counts_stay_in_metadata() -> None:
    run = span_to_run(
        make_span(
            attrs={
                "llm.token_count.prompt": -3,
                "gen_ai.usage.input_tokens": "12",
                "llm.token_count.completion": "many",
            }
        ),
        {},
    )
    assert run.prompt_tokens == 12
    assert run.completion_tokens is MISSING
    assert run.metadata["llm.token_count.prompt"] == -3
    assert run.metadata["llm.token_count.completion"] == "many"


def test_deeply_nested_json_text_stays_text() -> None:
    deep = "[" * 5000 + "]" * 5000
    run = span_to_run(
        make_span(attrs={"input.value": deep, "input.mime_type": "application/json"}), {}
    )
    assert run.inputs == {"input": deep}


@pytest.mark.parametrize(
    ("trace_id", "span_id", "field"),
    [
        (b"\x01" * 15, b"\x01" * 8, "trace_id"),
        (b"\x01" * 16, b"\x01" * 7, "span_id"),
        (bytes(16), b"\x01" * 8, "traceId"),
    ],
)
def test_spans_with_bad_ids_are_refused(trace_id: bytes, span_id: bytes, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        span_to_run(make_span(trace_id=trace_id, span_id=span_id), {})
    assert caught.value.details["field"] == field


def test_many_long_attributes_are_cut_shorter_to_fit_the_metadata_limit() -> None:
    attrs = {f"llm.tools.{i}.tool.json_schema": "s" * 6000 for i in range(40)}
    metadata = span_to_run(make_span(attrs=attrs), {}).metadata
    assert len(json.dumps(metadata)) <= 64 * 1024
    assert metadata["llm.tools.0.tool.json_schema"].startswith("s" * 512 + "... [cut: 6000")
