"""OTLP spans made by hand, for the tests of the mapping and of the endpoint's
edges (the end-to-end tests use the real SDK)."""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def value(raw: Any) -> AnyValue:
    if isinstance(raw, bool):
        return AnyValue(bool_value=raw)
    if isinstance(raw, int):
        return AnyValue(int_value=raw)
    if isinstance(raw, float):
        return AnyValue(double_value=raw)
    if isinstance(raw, bytes):
        return AnyValue(bytes_value=raw)
    if isinstance(raw, list):
        result = AnyValue()
        result.array_value.values.extend(value(item) for item in raw)
        return result
    if isinstance(raw, dict):
        result = AnyValue()
        result.kvlist_value.values.extend(pairs(raw))
        return result
    return AnyValue(string_value=str(raw))


def pairs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=value(raw)) for key, raw in attrs.items()]


def make_span(
    name: str = "step",
    attrs: dict[str, Any] | None = None,
    *,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    parent: bytes = b"",
    events: list[tuple[str, dict[str, Any]]] | None = None,
    status: int = 0,
    status_message: str = "",
    duration_ns: int = 250_000_000,
) -> Span:
    span = Span(
        trace_id=trace_id if trace_id is not None else os.urandom(16),
        span_id=span_id if span_id is not None else os.urandom(8),
        parent_span_id=parent,
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=START_NS,
        end_time_unix_nano=START_NS + duration_ns,
    )
    span.attributes.extend(pairs(attrs or {}))
    for event_name, event_attrs in events or []:
        event = span.events.add(name=event_name, time_unix_nano=START_NS)
        event.attributes.extend(pairs(event_attrs))
    span.status.code = status  # type: ignore[assignment]
    span.status.message = status_message
    return span


def export_request(
    spans: list[Span], resource: dict[str, Any] | None = None, scope: str = "tests"
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(pairs(resource or {"service.name": "shop"}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope
    scope_spans.spans.extend(spans)
    return request
