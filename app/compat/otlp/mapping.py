"""One OTLP span as one Plaudit run: a pure function, :func:`span_to_run`.

=====================  ==========================================================
Run field              Taken from (the first one present)
=====================  ==========================================================
id                     UUIDv5 of trace id + span id (app/domain/otel_ids.py)
trace_id               the 16-byte trace id read as a UUID
parent_run_id          the run id of trace id + parent span id
name                   the span name
start/end time         ``start_time_unix_nano`` / ``end_time_unix_nano``
error                  status ERROR or an ``exception`` event: ``type: message``
                       and the stack trace (else the status message)
run type               ``langfuse.observation.type`` (generation: llm; embedding,
                       tool, retriever; others: chain),
                       ``openinference.span.kind`` (LLM, CHAIN, TOOL, RETRIEVER,
                       EMBEDDING; AGENT and others: chain; RERANKER: retriever),
                       ``gen_ai.operation.name`` (chat, text_completion,
                       generate_content: llm; embeddings: embedding;
                       execute_tool: tool; others: chain); default chain.
                       Kept as ``ls_run_type`` in the metadata, as LangSmith runs
inputs                 ``{"messages": [...]}`` from the span's input messages
                       (messages.py), else ``langfuse.observation.input`` (JSON
                       text), else ``input.value`` (JSON when
                       ``input.mime_type`` is application/json, else
                       ``{"input": text}``)
outputs                the same with output messages, ``output.value``
model                  ``langfuse.observation.model.name``, ``llm.model_name``,
                       ``embedding.model_name``, ``gen_ai.response.model``,
                       ``gen_ai.request.model``
tokens                 also ``langfuse.observation.usage_details`` (JSON:
                       input, output, total) when the attributes below are absent
prompt_tokens          ``llm.token_count.prompt``, ``gen_ai.usage.input_tokens``,
                       ``gen_ai.usage.prompt_tokens``
completion_tokens      ``llm.token_count.completion``,
                       ``gen_ai.usage.output_tokens``, ``gen_ai.usage.completion_tokens``
total_tokens           ``llm.token_count.total`` (else prompt + completion)
session_id             ``session.id``, ``langfuse.session.id``, ``gen_ai.conversation.id``
user_id                ``user.id``, ``langfuse.user.id``, ``enduser.id``
tags                   ``tag.tags``, ``langfuse.trace.tags``
tracing project        the ``x-plaudit-tracing-project`` header, the resource's
                       ``openinference.project.name``, its ``service.name``
                       (not the SDK's ``unknown_service`` default); else "default"
metadata               the ``metadata`` attribute (JSON object) and Langfuse's
                       ``langfuse.{trace,observation}.metadata.<key>``, merged with every
                       attribute not taken above, ``otel.trace_id``,
                       ``otel.span_id``, ``otel.span_kind``, ``otel.scope``, the
                       resource's attributes under ``otel.resource``, and events
                       not read as messages or errors under ``otel.events``.
                       Strings there are cut at 4096 characters (512, then
                       64, when the metadata is still over its 64 KB limit).
=====================  ==========================================================
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from app.compat.langsmith.run_mapping import RUN_TYPE
from app.compat.otlp.messages import Event, messages
from app.compat.otlp.values import (
    MAX_METADATA_VALUE_CHARS,
    attributes,
    json_or_text,
    shortened,
)
from app.domain import validation as v
from app.domain.missing import MISSING
from app.domain.otel_ids import run_id_for_span, trace_uuid
from app.domain.runs import RunWrite
from app.errors import BadRequest

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The lengths metadata strings are cut to, each tried in turn until it fits.
METADATA_CUTS = (MAX_METADATA_VALUE_CHARS, 512, 64)
MAX_EVENTS_KEPT = 20

OPENINFERENCE_KINDS = {
    "llm": "llm",
    "chain": "chain",
    "tool": "tool",
    "retriever": "retriever",
    "reranker": "retriever",
    "embedding": "embedding",
    "prompt": "prompt",
}
GENAI_OPERATIONS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
}
SPAN_KINDS = {
    Span.SPAN_KIND_INTERNAL: "internal",
    Span.SPAN_KIND_SERVER: "server",
    Span.SPAN_KIND_CLIENT: "client",
    Span.SPAN_KIND_PRODUCER: "producer",
    Span.SPAN_KIND_CONSUMER: "consumer",
}
MODEL = (
    "langfuse.observation.model.name",
    "llm.model_name",
    "embedding.model_name",
    "gen_ai.response.model",
    "gen_ai.request.model",
)
PROMPT_TOKENS = (
    "llm.token_count.prompt",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
)
COMPLETION_TOKENS = (
    "llm.token_count.completion",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
)
TOTAL_TOKENS = ("llm.token_count.total",)
SESSION = ("session.id", "langfuse.session.id", "gen_ai.conversation.id")
USER = ("user.id", "langfuse.user.id", "enduser.id")
TAGS = ("tag.tags", "langfuse.trace.tags")
# Langfuse's SDKs (app/compat/langfuse): an observation's type, its input and
# output and usage as JSON text, and its metadata flattened into one attribute a key.
LANGFUSE_TYPE = "langfuse.observation.type"
LANGFUSE_TYPES = {
    "generation": "llm",
    "embedding": "embedding",
    "tool": "tool",
    "retriever": "retriever",
}
LANGFUSE_USAGE = "langfuse.observation.usage_details"
LANGFUSE_METADATA = ("langfuse.trace.metadata", "langfuse.observation.metadata")
# Read for the run type, and kept in the metadata too (small, and useful to filter by).
KIND = "openinference.span.kind"
OPERATION = "gen_ai.operation.name"
PROJECT = ("openinference.project.name", "service.name")
UNKNOWN_SERVICE = "unknown_service"


class _Attributes:
    """A span's attributes, remembering which were taken into run fields."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.taken: set[str] = set()

    def first(self, keys: tuple[str, ...]) -> Any:
        for key in keys:
            if key in self.values and self.values[key] not in (None, ""):
                self.taken.update(k for k in keys if k in self.values)
                return self.values[key]
        return None

    def text(self, keys: tuple[str, ...]) -> str | None:
        value = self.first(keys)
        return None if value is None else str(value)[: v.MAX_SHORT_CHARS]

    def count(self, keys: tuple[str, ...]) -> int | None:
        """A token count: a whole number (as text too) not below zero; anything
        else stays in the metadata."""
        for key in keys:
            value = self.values.get(key)
            if isinstance(value, bool):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, int) and value >= 0:
                self.taken.add(key)
                return value
        return None

    def rest(self) -> dict[str, Any]:
        return {k: value for k, value in self.values.items() if k not in self.taken}


def _time(nanos: int, field: str) -> datetime | None:
    if nanos == 0:
        return None
    try:
        return EPOCH + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        raise BadRequest(f"{field} is past the year 9999", field=field) from None


def _run_type(attrs: _Attributes) -> str:
    langfuse = attrs.values.get(LANGFUSE_TYPE)
    if isinstance(langfuse, str) and langfuse:
        return LANGFUSE_TYPES.get(langfuse.lower(), "chain")
    kind = attrs.values.get(KIND)
    if isinstance(kind, str) and kind:
        return OPENINFERENCE_KINDS.get(kind.lower(), "chain")
    operation = attrs.values.get(OPERATION)
    if isinstance(operation, str) and operation:
        return GENAI_OPERATIONS.get(operation.lower(), "chain")
    return "chain"


def _value(attrs: _Attributes, prefix: str, key: str) -> Any:
    """``input.value`` / ``output.value`` (Langfuse's
    ``langfuse.observation.input`` / ``output``, JSON text) as a run's inputs / outputs."""
    langfuse = attrs.first((f"langfuse.observation.{prefix}",))
    value = attrs.first((f"{prefix}.value",))
    if langfuse is not None:
        value = json_or_text(langfuse)
    elif value is None:
        return MISSING
    elif attrs.first((f"{prefix}.mime_type",)) == "application/json":
        value = json_or_text(value)
    return value if isinstance(value, dict) else {key: value}


def _usage(attrs: _Attributes) -> None:
    """Langfuse's usage details (``{"input": n, "output": n, "total": n}`` as JSON
    text) as the token counts' attributes, unless those are given."""
    usage = json_or_text(attrs.values.get(LANGFUSE_USAGE))
    if not isinstance(usage, dict):
        return
    attrs.taken.add(LANGFUSE_USAGE)
    for name, target in (
        ("input", PROMPT_TOKENS),
        ("output", COMPLETION_TOKENS),
        ("total", TOTAL_TOKENS),
    ):
        if usage.get(name) is not None:
            attrs.values.setdefault(target[0], usage[name])


def _error(span: Span, events: list[Event]) -> tuple[str | None, set[int]]:
    """The run's error, and which events it came from."""
    used = {i for i, event in enumerate(events) if event.name == "exception"}
    failed = span.status.code == Status.STATUS_CODE_ERROR
    if not used and not failed:
        return None, used
    if used:
        first = events[min(used)].attributes
        kind, message = first.get("exception.type"), first.get("exception.message")
        text = ": ".join(str(part) for part in (kind, message) if part) or "exception"
        stack = first.get("exception.stacktrace")
        if stack:
            text = f"{text}\n{stack}"
    else:
        text = span.status.message or "error"
    return text[: v.MAX_COMMENT_CHARS], used


def _metadata(attrs: _Attributes) -> dict[str, Any]:
    """The ``metadata`` attribute (OpenInference: a JSON object as text), and
    Langfuse's ``langfuse.trace.metadata.<key>`` / ``langfuse.observation.metadata.<key>``
    (each value JSON text) as ``<key>``."""
    found: dict[str, Any] = {}
    raw = json_or_text(attrs.values.get("metadata"))
    if isinstance(raw, dict):
        attrs.taken.add("metadata")
        found.update(raw)
    for prefix in LANGFUSE_METADATA:
        for name, value in attrs.values.items():
            if name.startswith(prefix + ".") and len(name) > len(prefix) + 1:
                attrs.taken.add(name)
                found[name[len(prefix) + 1 :]] = json_or_text(value)
    return found


def _tracing_project(resource: dict[str, Any], given: str | None) -> Any:
    if given:
        return given
    for key in PROJECT:
        name = resource.get(key)
        if isinstance(name, str) and name and not name.startswith(UNKNOWN_SERVICE):
            return name
    return MISSING


def _tags(attrs: _Attributes) -> Any:
    for name in TAGS:
        tags = attrs.values.get(name)
        if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            attrs.taken.add(name)
            return tags
    return MISSING


def _ids(span: Span) -> tuple[str, str, str | None]:
    if len(span.trace_id) != 16:
        raise BadRequest("a span's trace_id must be 16 bytes", field="trace_id")
    if len(span.span_id) != 8:
        raise BadRequest("a span's span_id must be 8 bytes", field="span_id")
    parent = span.parent_span_id.hex() if span.parent_span_id else None
    if parent is not None and len(span.parent_span_id) != 8:
        raise BadRequest("a span's parent_span_id must be 8 bytes", field="parent_span_id")
    return span.trace_id.hex(), span.span_id.hex(), parent


def span_to_run(
    span: Span,
    resource: dict[str, Any],
    scope: str | None = None,
    tracing_project: str | None = None,
) -> RunWrite:
    """The run a span is stored as (see the module's table). BadRequest for a
    span that cannot be one (ids of the wrong length, a time past 9999)."""
    trace, span_id, parent = _ids(span)
    attrs = _Attributes(attributes(span.attributes))
    events = [Event(e.name, attributes(e.attributes)) for e in span.events]
    found = messages(attrs.values, events)
    attrs.taken |= found.keys
    error, error_events = _error(span, events)
    # Read (and so left out of the metadata) even when the messages stand for them.
    input_value = _value(attrs, "input", "input")
    output_value = _value(attrs, "output", "output")
    _usage(attrs)
    run = RunWrite(
        id=run_id_for_span(trace, span_id),
        name=span.name[: v.MAX_SHORT_CHARS] or "span",
        trace_id=trace_uuid(trace),
        parent_run_id=run_id_for_span(trace, parent) if parent else None,
        start_time=_time(span.start_time_unix_nano, "start_time_unix_nano") or MISSING,
        end_time=_time(span.end_time_unix_nano, "end_time_unix_nano") or MISSING,
        inputs={"messages": found.inputs} if found.inputs else input_value,
        outputs={"messages": found.outputs} if found.outputs else output_value,
        model=attrs.text(MODEL) or MISSING,
        prompt_tokens=attrs.count(PROMPT_TOKENS),
        completion_tokens=attrs.count(COMPLETION_TOKENS),
        total_tokens=attrs.count(TOTAL_TOKENS),
        session_id=attrs.text(SESSION) or MISSING,
        user_id=attrs.text(USER) or MISSING,
        tags=_tags(attrs),
        error=error if error is not None else MISSING,
        tracing_project_name=_tracing_project(resource, tracing_project),
    )
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if getattr(run, name) is None:
            setattr(run, name, MISSING)
    own = _metadata(attrs)
    kept_events = [
        {"name": e.name, "attributes": e.attributes}
        for i, e in enumerate(events)
        if i not in found.events and i not in error_events
    ][:MAX_EVENTS_KEPT]
    otel: dict[str, Any] = {
        "otel.trace_id": trace,
        "otel.span_id": span_id,
        "otel.span_kind": SPAN_KINDS.get(span.kind, "unspecified"),
        "otel.resource": resource,
    }
    if scope:
        otel["otel.scope"] = scope
    if kept_events:
        otel["otel.events"] = kept_events
    run.metadata = _fitted({**attrs.rest(), **own, **otel, RUN_TYPE: _run_type(attrs)})
    return run


def _fitted(metadata: dict[str, Any]) -> dict[str, Any]:
    """The metadata with long strings cut, shorter still while it is over the
    metadata limit (then it is refused by the run's checks)."""
    for limit in METADATA_CUTS:
        fitted: dict[str, Any] = shortened(metadata, limit)
        if (
            len(json.dumps(fitted, ensure_ascii=False, default=str).encode())
            <= v.MAX_METADATA_BYTES
        ):
            break
    return fitted
