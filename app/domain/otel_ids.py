"""Runs named by OpenTelemetry ids.

A span sent to ``/v1/traces`` (app/compat/otlp) is stored as the run whose id is
derived from its trace id and span id, so a span sent again is the same run, and
an app that only knows its OTel ids can name the run (feedback, the GraphQL
``run`` query) without asking Plaudit first.
"""

from __future__ import annotations

import uuid

from app.errors import BadRequest

# Fixed forever: changing it would give every span already stored a new run id.
NAMESPACE = uuid.UUID("7f1d4c52-3b1e-5c0a-9a4e-6f7c0d2b8e11")

TRACE_ID_HEX = 32
SPAN_ID_HEX = 16


def _check_hex(value: object, length: int, field: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string of {length} hex digits", field=field)
    text = value.strip().lower()
    if len(text) != length or any(c not in "0123456789abcdef" for c in text):
        raise BadRequest(
            f"{field} must be {length} hex digits (the W3C trace context form), got {value[:80]!r}",
            field=field,
        )
    if text == "0" * length:
        raise BadRequest(f"{field} must not be all zeros (an invalid OTel id)", field=field)
    return text


def check_trace_id(value: object, field: str = "traceId") -> str:
    """A trace id as 32 lower-case hex digits."""
    return _check_hex(value, TRACE_ID_HEX, field)


def check_span_id(value: object, field: str = "spanId") -> str:
    """A span id as 16 lower-case hex digits."""
    return _check_hex(value, SPAN_ID_HEX, field)


def run_id_for_span(
    trace_id: str, span_id: str, fields: tuple[str, str] = ("traceId", "spanId")
) -> str:
    """The id of the run a span is stored as: a UUIDv5 over both ids (the span id
    alone is unique only within its trace)."""
    trace = check_trace_id(trace_id, fields[0])
    span = check_span_id(span_id, fields[1])
    return str(uuid.uuid5(NAMESPACE, f"{trace}-{span}"))


def trace_uuid(trace_id: str) -> str:
    """A run's ``trace_id`` for a span: the 16-byte OTel trace id read as a UUID."""
    return str(uuid.UUID(hex=check_trace_id(trace_id)))


def named_run(
    run_id: str | None,
    trace_id: str | None,
    span_id: str | None,
    fields: tuple[str, str, str] = ("runId", "traceId", "spanId"),
) -> str:
    """The id of the run a caller names either by its id or by the OTel trace id
    and span id of the span it was sent as (``fields``: the caller's names for
    the three, for the errors)."""
    id_field, trace_field, span_field = fields
    by_span = trace_id is not None or span_id is not None
    if run_id is not None:
        if by_span:
            raise BadRequest(
                f"name the run by {id_field} or by {trace_field} and {span_field}, not both",
                field=id_field,
            )
        return run_id
    if trace_id is None or span_id is None:
        raise BadRequest(
            f"name the run: {id_field}, or {trace_field} and {span_field} together",
            field=id_field if not by_span else (trace_field if trace_id is None else span_field),
        )
    return run_id_for_span(trace_id, span_id, (trace_field, span_field))
