"""``POST /v1/traces`` through the ASGI app with hand-made bodies: the media
types, encodings, auth, limits and hostile input (the real exporters:
test_exporters.py)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from dataclasses import replace

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette

from app.domain import run_events
from app.domain.auth import create_key
from app.main import create_app
from app.settings import Settings
from app.store.embedded.server import EmbeddedMongo
from app.store.runs import Run
from tests.compat.otlp.spans import export_request, make_span
from tests.conftest import GraphQLClient, Keys, services

PROTOBUF = {"Content-Type": "application/x-protobuf"}
RUN = """query($t: String!, $s: String!) { run(traceId: $t, spanId: $s) {
  id name traceId parentRunId model promptTokens completionTokens totalTokens error
  inputs outputs metadata sessionId tracingProject { name } } }"""
COUNT = "query($n: String!) { tracingProject(name: $n) { runCount } }"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def post(
    http: httpx.AsyncClient, key: str, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await http.post(
        "/v1/traces", content=body, headers={**PROTOBUF, **auth(key), **(headers or {})}
    )


def partial(response: httpx.Response) -> tuple[int, str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    return answer.partial_success.rejected_spans, answer.partial_success.error_message


async def count(gql: GraphQLClient, name: str) -> int:
    project = (await gql.ok(COUNT, {"n": name}))["tracingProject"]
    return 0 if project is None else int(project["runCount"])


async def test_protobuf_spans_become_runs_with_their_tree(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    trace = os.urandom(16)
    root = make_span(
        "agent", {"openinference.span.kind": "AGENT"}, trace_id=trace, span_id=b"\x01" * 8
    )
    child = make_span(
        "llm",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "m-1",
            "llm.token_count.prompt": 3,
            "llm.token_count.completion": 4,
            "session.id": "s-1",
            "app.unknown": "kept",
        },
        trace_id=trace,
        span_id=b"\x02" * 8,
        parent=b"\x01" * 8,
    )
    response = await post(http, keys.ingest, export_request([child, root]).SerializeToString())
    assert partial(response) == (0, "")
    found = (await gql.ok(RUN, {"t": trace.hex(), "s": "02" * 8}))["run"]
    parent = (await gql.ok(RUN, {"t": trace.hex(), "s": "01" * 8}))["run"]
    assert found["name"] == "llm"
    assert found["parentRunId"] == parent["id"]
    assert parent["parentRunId"] is None
    assert found["traceId"] == parent["traceId"] == str(__import__("uuid").UUID(bytes=trace))
    assert (
        found["model"],
        found["promptTokens"],
        found["completionTokens"],
        found["totalTokens"],
    ) == ("m-1", 3, 4, 7)
    assert found["sessionId"] == "s-1"
    assert found["metadata"]["app.unknown"] == "kept"
    assert found["metadata"]["ls_run_type"] == "llm"
    assert found["tracingProject"] == {"name": "shop"}
    # Sent again: the same runs, not new ones.
    again = await post(http, keys.ingest, export_request([child, root]).SerializeToString())
    assert partial(again) == (0, "")
    assert await count(gql, "shop") == 2


async def test_json_body_with_hex_ids_and_gzip(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    span = make_span("json span", {"input.value": "hi"})
    body = json_format.MessageToDict(export_request([span], {"service.name": "json-app"}))
    # OTLP/JSON ids are hex, not protobuf JSON's base64.
    scope_span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    scope_span["traceId"], scope_span["spanId"] = span.trace_id.hex(), span.span_id.hex()
    scope_span["someFutureField"] = {"x": 1}
    response = await http.post(
        "/v1/traces",
        content=gzip.compress(json.dumps(body).encode()),
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "x-api-key": keys.ingest,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    run = (await gql.ok(RUN, {"t": span.trace_id.hex(), "s": span.span_id.hex()}))["run"]
    assert run["name"] == "json span"
    assert run["inputs"] == {"input": "hi"}
    assert run["tracingProject"] == {"name": "json-app"}


async def test_tracing_project_header_wins(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    span = make_span()
    response = await post(
        http,
        keys.ingest,
        export_request([span]).SerializeToString(),
        {"x-plaudit-tracing-project": "from-header"},
    )
    assert partial(response) == (0, "")
    run = (await gql.ok(RUN, {"t": span.trace_id.hex(), "s": span.span_id.hex()}))["run"]
    assert run["tracingProject"] == {"name": "from-header"}


async def test_media_types_encodings_and_keys(http: httpx.AsyncClient, keys: Keys) -> None:
    body = export_request([make_span()]).SerializeToString()
    plain = await http.post(
        "/v1/traces", content=body, headers={"Content-Type": "text/plain", **auth(keys.ingest)}
    )
    assert plain.status_code == 415
    assert plain.json()["error"] == "unsupported_media_type"
    brotli = await post(http, keys.ingest, body, {"Content-Encoding": "br"})
    assert brotli.status_code == 415
    anonymous = await http.post("/v1/traces", content=body, headers=PROTOBUF)
    assert anonymous.status_code == 401
    assert "Bearer" in anonymous.json()["message"]
    wrong = await post(http, "pk_nonsense", body)
    assert wrong.status_code == 401
    read_only = await post(http, keys.read, body)
    assert read_only.status_code == 403
    get = await http.get("/v1/traces", headers=auth(keys.ingest))
    assert get.status_code == 405
    assert get.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"not protobuf at all, really" * 3],
)
async def test_malformed_protobuf_is_a_400(
    http: httpx.AsyncClient, keys: Keys, body: bytes
) -> None:
    response = await post(http, keys.ingest, body)
    assert response.status_code == 400, response.text
    assert "ExportTraceServiceRequest" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "JSON"),
        (b"[]", "must be an object"),
        (b'{"resourceSpans": 3}', "ExportTraceServiceRequest"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "hex"),
        (b"[" * 10_000 + b"]" * 10_000, "nested"),
    ],
)
async def test_malformed_json_is_a_400(
    http: httpx.AsyncClient, keys: Keys, body: bytes, message: str
) -> None:
    response = await http.post(
        "/v1/traces",
        content=body,
        headers={"Content-Type": "application/json", **auth(keys.ingest)},
    )
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


async def test_bad_gzip_and_gzip_bombs(http: httpx.AsyncClient, keys: Keys) -> None:
    broken = await post(http, keys.ingest, b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"})
    assert broken.status_code == 400
    assert "gzip" in broken.json()["message"]
    bomb = gzip.compress(bytes(40 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    inflated = await post(http, keys.ingest, bomb, {"Content-Encoding": "gzip"})
    assert inflated.status_code == 413
    assert inflated.json()["error"] == "body_too_large"


async def test_body_over_the_limit_is_a_413(
    http: httpx.AsyncClient, keys: Keys, settings: Settings
) -> None:
    response = await post(http, keys.ingest, bytes(settings.max_body_bytes + 1))
    assert response.status_code == 413


async def test_bad_spans_are_refused_and_the_others_stored(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    good = make_span("good", {"app.x": "y" * 100_000})
    short_id = make_span("short id", span_id=b"\x01" * 4)
    huge_input = make_span("huge", {"input.value": "x" * (1024 * 1024 + 10)})
    backwards = make_span("backwards", duration_ns=-5_000_000_000)
    nul_name = make_span("nul\x00name")
    request = export_request([short_id, good, huge_input, backwards, nul_name])
    rejected, message = partial(await post(http, keys.ingest, request.SerializeToString()))
    assert rejected == 4
    assert message.startswith("4 of 5 spans refused")
    assert "'short id'" in message and "span_id must be 8 bytes" in message
    run = (await gql.ok(RUN, {"t": good.trace_id.hex(), "s": good.span_id.hex()}))["run"]
    assert run["name"] == "good"
    assert len(run["metadata"]["app.x"]) < 5000
    assert await count(gql, "shop") == 1


async def test_ten_thousand_spans_in_one_request(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    trace = os.urandom(16)
    spans = [
        make_span(
            f"s{i}",
            {"i": i},
            trace_id=trace,
            span_id=i.to_bytes(8, "big"),
            parent=b"" if i == 1 else (1).to_bytes(8, "big"),
        )
        for i in range(1, 10_001)
    ]
    response = await post(http, keys.ingest, export_request(spans).SerializeToString())
    assert partial(response) == (0, "")
    assert await count(gql, "shop") == 10_000
    last = (await gql.ok(RUN, {"t": trace.hex(), "s": (10_000).to_bytes(8, "big").hex()}))["run"]
    first = (await gql.ok(RUN, {"t": trace.hex(), "s": (1).to_bytes(8, "big").hex()}))["run"]
    assert last["parentRunId"] == first["id"]


async def test_an_empty_export_is_accepted(http: httpx.AsyncClient, keys: Keys) -> None:
    assert partial(await post(http, keys.ingest, b"")) == (0, "")


async def test_over_the_concurrency_limit_is_a_429(
    app: Starlette, http: httpx.AsyncClient, keys: Keys
) -> None:
    admission = services(app).otlp_admission
    body = export_request([make_span()]).SerializeToString()
    with admission.enter():
        admission.in_flight = admission.limit
        response = await post(http, keys.ingest, body)
        admission.in_flight = 1
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"] == "rate_limited"
    assert admission.in_flight == 0
    assert partial(await post(http, keys.ingest, body)) == (0, "")


class Recorder:
    def __init__(self) -> None:
        self.runs: list[Run] = []

    async def runs_written(self, project_id: str, runs: list[Run]) -> None:
        self.runs += runs


async def test_run_observers_see_spans(app: Starlette, http: httpx.AsyncClient, keys: Keys) -> None:
    recorder = Recorder()
    stores = services(app).stores
    run_events.attach(stores, recorder)
    try:
        span = make_span("observed")
        assert partial(
            await post(http, keys.ingest, export_request([span]).SerializeToString())
        ) == (0, "")
    finally:
        run_events.detach(stores, recorder)
    assert [r.name for r in recorder.runs] == ["observed"]
    assert recorder.runs[0].project_id == keys.project_id


async def test_database_down_is_a_503_with_retry_after(
    own_store: EmbeddedMongo, settings: Settings
) -> None:
    app = create_app(replace(settings, mongodb_uri=own_store.uri), serverSelectionTimeoutMS=1000)
    async with app.router.lifespan_context(app):
        stores = services(app).stores
        project = await stores.projects.create("down")
        _, secret = await create_key(stores, project.id, "ingest")
        await asyncio.to_thread(own_store.kill)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await post(http, secret, export_request([make_span()]).SerializeToString())
        # Back before the app stops: its background loops flush to the store.
        await asyncio.to_thread(own_store.start)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["error"] == "unavailable"
