"""Langfuse's ids and names as Plaudit's: score ids, the runs scores are on, sources."""

from __future__ import annotations

import uuid
from typing import Any

from app.domain.otel_ids import SPAN_ID_HEX, TRACE_ID_HEX, run_id_for_span, trace_uuid
from app.errors import BadRequest

# Langfuse's score sources and Plaudit's source types, both ways.
SOURCES = {"API": "api", "ANNOTATION": "human", "EVAL": "model"}
SOURCE_NAMES = {"api": "API", "human": "ANNOTATION", "model": "EVAL"}
ID_NAMESPACE = uuid.UUID("6c9f3f7e-5e0a-4d2e-9b7a-6a1f0c3e2d10")


def score_uuid(raw: str) -> str:
    """A Langfuse score id as a Plaudit feedback id: a UUID as it is, any other
    text a UUID derived from it (so the same id names the same record)."""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return str(uuid.uuid5(ID_NAMESPACE, raw))


def _as_uuid(raw: str, field: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise BadRequest(
            f"{field} {raw[:80]!r} is neither an OTel id nor a UUID", field=field
        ) from None


def trace_run_id(trace_id: Any) -> str:
    """The run a trace is (app/compat/langfuse/traces.py): its OTel trace id (32
    hex digits) read as a UUID; a UUID as it is."""
    raw = str(trace_id)
    if len(raw) == TRACE_ID_HEX:
        return trace_uuid(raw)
    return _as_uuid(raw, "traceId")


def observation_run_id(trace_id: Any, observation_id: Any) -> str:
    """The run an observation is: its span's (trace id and span id, app/domain/otel_ids.py);
    an observation id that is a UUID (older SDKs, imports) as it is."""
    raw = str(observation_id)
    if len(raw) == SPAN_ID_HEX:
        if trace_id is None:
            raise BadRequest(
                "an observationId that is an OTel span id needs its traceId", field="traceId"
            )
        return run_id_for_span(str(trace_id), raw, ("traceId", "observationId"))
    return _as_uuid(raw, "observationId")
