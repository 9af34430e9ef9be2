"""``POST /api/public/otel/v1/traces``: Langfuse's SDKs export spans over OTLP/HTTP
to this path; it is Plaudit's OTLP endpoint (app/compat/otlp) behind Langfuse's
Basic auth, with one addition.

A Langfuse trace is an object of its own, above its observations (spans), and
scores can be on it. So each trace gets a run of its own: its id is the trace id
read as a UUID (the run's ``trace_id`` too, as a LangSmith root run's), and the
runs of the trace's root spans are its children. It is written from the root
span: the name ``langfuse.trace.name`` (else the span's), the root span's times,
user, session, tags and tracing project, and the inputs and outputs
``langfuse.trace.input`` / ``langfuse.trace.output`` (else the root span's)."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span
from starlette.requests import Request
from starlette.responses import Response

from app.compat.langfuse.http import principal
from app.compat.langsmith.http import endpoint
from app.compat.langsmith.run_mapping import RUN_TYPE
from app.compat.otlp import routes as otlp
from app.compat.otlp.decoding import media_type
from app.compat.otlp.values import attributes, json_or_text
from app.domain import validation as v
from app.domain.runs import RunWrite

TRACE_NAME = "langfuse.trace.name"
TRACE_MARK = "langfuse.trace"


def _trace_value(values: dict[str, Any], name: str, fallback: Any) -> Any:
    raw = values.get(f"langfuse.trace.{name}")
    if raw is None:
        return fallback
    value = json_or_text(raw)
    return value if isinstance(value, dict) else {name: value}


def trace_run(span: Span, run: RunWrite) -> list[tuple[str, RunWrite]]:
    """For a root span: its trace's run, the span's run made its child."""
    if span.parent_span_id:
        return []
    trace_id = run.trace_id
    run.parent_run_id = trace_id
    values = attributes(span.attributes)
    name = values.get(TRACE_NAME)
    trace = RunWrite(
        id=trace_id,
        name=str(name)[: v.MAX_SHORT_CHARS] if name else run.name,
        trace_id=trace_id,
        start_time=run.start_time,
        end_time=run.end_time,
        inputs=_trace_value(values, "input", run.inputs),
        outputs=_trace_value(values, "output", run.outputs),
        user_id=run.user_id,
        session_id=run.session_id,
        tags=run.tags,
        error=run.error,
        tracing_project_name=run.tracing_project_name,
        metadata={TRACE_MARK: True, RUN_TYPE: "chain"},
    )
    return [(f"trace {trace_id}", trace)]


@endpoint
async def export_traces(request: Request) -> Response:
    media_type(request.headers.get("content-type"))
    return await otlp.receive(request, await principal(request, "ingest"), trace_run)
