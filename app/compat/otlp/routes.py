"""``POST /v1/traces``: OTLP/HTTP trace export (protobuf or JSON, plain or gzip).

Each span becomes a run of the API key's project (mapping.py), ingested by the
same domain function as LangSmith's ``/runs/batch``, so run observers (online
evaluation) see them too. Spans that cannot be stored are counted in the
response's ``partial_success``; the others are stored. Errors: 400 for a body
that is not an export request, 401/403 for the key, 413 over the size limits,
415 for another media type or encoding, 429 (Retry-After) when the process is
already storing its limit of exports, 503 (Retry-After) when the database is
unreachable. Error bodies are Plaudit's JSON errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from app.compat.langsmith.http import endpoint, route, services
from app.compat.otlp.decoding import PROTOBUF, decode, inflate, media_type
from app.compat.otlp.mapping import span_to_run
from app.compat.otlp.values import attributes
from app.domain import validation as v
from app.domain.auth import Principal, authenticate, bearer_secret
from app.domain.runs import RunWrite, ingest_each_run
from app.domain.tracing_projects import check_name
from app.errors import PlauditError, Unauthenticated
from app.store import Stores

TRACING_PROJECT_HEADER = "x-plaudit-tracing-project"


@dataclass
class Refusals:
    count: int = 0
    first: str | None = None

    def add(self, what: str, error: PlauditError) -> None:
        self.count += 1
        if self.first is None:
            self.first = f"{what}: {error.message}"

    def message(self, total: int) -> str:
        return f"{self.count} of {total} spans refused (the others are stored); first: {self.first}"


@dataclass
class Batch:
    writes: list[RunWrite] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    total: int = 0


# What an edge adds to each span's run (Langfuse: a run for the trace), given the
# span and its run: more runs to store, with names for the refusals.
Extra = Callable[[Span, RunWrite], list[tuple[str, RunWrite]]]


async def _principal(request: Request) -> Principal:
    secret = bearer_secret(request.headers.get("authorization")) or request.headers.get("x-api-key")
    if not secret:
        raise Unauthenticated(
            "missing API key: send Authorization: Bearer <Plaudit API key> "
            "(OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<key>) or x-api-key"
        )
    svc = services(request)
    return await authenticate(svc.stores, svc.key_cache, secret)


def _runs(
    export: ExportTraceServiceRequest,
    project: str | None,
    refused: Refusals,
    extra: Extra | None = None,
) -> Batch:
    batch = Batch()
    for resource_spans in export.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name or None
            for span in scope_spans.spans:
                batch.total += 1
                what = f"span {span.span_id.hex()} ({span.name[:80]!r})"
                try:
                    run = span_to_run(span, resource, scope, project)
                    more = extra(span, run) if extra is not None else []
                except PlauditError as exc:
                    refused.add(what, exc)
                    continue
                batch.writes.append(run)
                batch.names.append(what)
                for name, added in more:
                    batch.writes.append(added)
                    batch.names.append(name)
    return batch


async def _store(stores: Stores, project_id: str, batch: Batch, refused: Refusals) -> None:
    """In calls of at most MAX_BATCH runs, each run on its own."""
    for start in range(0, len(batch.writes), v.MAX_BATCH):
        chunk = batch.writes[start : start + v.MAX_BATCH]
        result = await ingest_each_run(stores, project_id, chunk)
        for rejected in result.rejected:
            refused.add(batch.names[start + rejected.index], rejected.error)


def _response(kind: str, refused: Refusals, total: int) -> Response:
    answer = ExportTraceServiceResponse()
    if refused.count:
        answer.partial_success.CopyFrom(
            ExportTracePartialSuccess(
                rejected_spans=refused.count, error_message=refused.message(total)
            )
        )
    if kind == "protobuf":
        return Response(answer.SerializeToString(), media_type=PROTOBUF)
    return JSONResponse(json_format.MessageToDict(answer))


async def receive(request: Request, who: Principal, extra: Extra | None = None) -> Response:
    """Store an export request's spans as runs of ``who``'s project; the answer."""
    kind = media_type(request.headers.get("content-type"))
    who.require("ingest")
    project = request.headers.get(TRACING_PROJECT_HEADER) or None
    if project is not None:
        project = check_name(project, TRACING_PROJECT_HEADER)
    svc = services(request)
    with svc.otlp_admission.enter():
        raw = inflate(
            await request.body(),
            request.headers.get("content-encoding"),
            svc.settings.otlp_max_inflated_bytes,
        )
        export = decode(raw, kind)
        refused = Refusals()
        batch = _runs(export, project, refused, extra)
        await _store(svc.stores, who.project_id, batch, refused)
    return _response(kind, refused, batch.total)


@endpoint
async def export_traces(request: Request) -> Response:
    media_type(request.headers.get("content-type"))
    return await receive(request, await _principal(request))


def routes() -> list[BaseRoute]:
    return [route("/v1/traces", POST=export_traces)]
