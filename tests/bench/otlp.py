"""OTLP span ingest throughput: ``POST /v1/traces`` against the raw driver ceiling.

    .venv/bin/python -m tests.bench.otlp [--batches 20] [--batch-size 512] [--concurrency 1,4]

The server runs as its own process (`plaudit serve`); this process sends
pre-encoded ExportTraceServiceRequests (protobuf), each ``--batch-size`` spans of
traces shaped like an instrumented LLM app (a chain span with OpenInference LLM
children carrying messages, model and token counts). The ceiling is the same runs,
mapped by the same function (app/compat/otlp/mapping.py, timed apart), upserted
straight through AsyncMongoClient in bulk writes of the same size into a
collection with the runs' indexes: what the service costs on top of the database."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass, replace

import httpx

from app.compat.otlp.mapping import span_to_run
from app.domain.auth import create_key
from app.store import Stores, jsonsafe
from app.store.client import make_client
from app.store.indexes import INDEXES, ensure_indexes
from tests.bench.common import percentile, server, store
from tests.compat.otlp.spans import export_request, make_span

CHILDREN = 3  # LLM spans under each chain span


@dataclass
class Result:
    name: str
    concurrency: int
    spans: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.spans / self.seconds


def batches(count: int, size: int) -> list[bytes]:
    """``count`` requests of ``size`` spans each, traces of 1 chain + CHILDREN LLM spans."""
    out = []
    for _ in range(count):
        spans = []
        while len(spans) < size:
            trace, root = os.urandom(16), os.urandom(8)
            spans.append(
                make_span(
                    "answer",
                    {
                        "openinference.span.kind": "CHAIN",
                        "input.value": "What is the weather in Paris?",
                        "session.id": "s-1",
                    },
                    trace_id=trace,
                    span_id=root,
                )
            )
            for i in range(CHILDREN):
                spans.append(
                    make_span(
                        "ChatCompletion",
                        {
                            "openinference.span.kind": "LLM",
                            "llm.model_name": "gpt-4o-mini",
                            "llm.token_count.prompt": 120 + i,
                            "llm.token_count.completion": 30,
                            "llm.input_messages.0.message.role": "user",
                            "llm.input_messages.0.message.content": "What is the weather?" * 5,
                            "llm.output_messages.0.message.role": "assistant",
                            "llm.output_messages.0.message.content": "Sunny, 21 degrees." * 5,
                            "llm.invocation_parameters": '{"temperature": 0}',
                        },
                        trace_id=trace,
                        parent=root,
                    )
                )
        out.append(export_request(spans[:size], {"service.name": "bench"}).SerializeToString())
    return out


async def setup(uri: str, db_name: str) -> str:
    client = make_client(uri)
    stores = Stores.open(client[db_name])
    await ensure_indexes(stores.db)
    project = await stores.projects.create(f"bench-{uuid.uuid4().hex[:6]}")
    _, secret = await create_key(stores, project.id, "ingest")
    await client.close()
    return secret


async def through_service(url: str, secret: str, bodies: list[bytes], c: int) -> Result:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/x-protobuf"}
    queue = list(bodies)
    latencies: list[float] = []
    errors = 0
    spans = 0

    async def worker() -> None:
        nonlocal errors, spans
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as http:
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                r = await http.post("/v1/traces", content=body)
                latencies.append((time.perf_counter() - started) * 1000)
                if r.status_code != 200 or r.content:  # a partial success has a body
                    errors += 1
                else:
                    spans += len(_decoded(body))

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    return Result("POST /v1/traces", c, spans, errors, time.perf_counter() - began, latencies)


def _decoded(body: bytes) -> list[object]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(body)
    return [s for r in request.resource_spans for sc in r.scope_spans for s in sc.spans]


def mapped(bodies: list[bytes]) -> tuple[list[list[dict[str, object]]], float]:
    """The runs' documents per request, and the seconds the mapping took."""
    started = time.perf_counter()
    docs = []
    for body in bodies:
        batch = []
        for span in _decoded(body):
            run = span_to_run(span, {"service.name": "bench"})  # type: ignore[arg-type]
            fields = {k: jsonsafe.escape(v) for k, v in run.given().items()}
            batch.append({"_id": run.id, "project_id": "bench", **fields})
        docs.append(batch)
    return docs, time.perf_counter() - started


async def ceiling(uri: str, db_name: str, docs: list[list[dict[str, object]]], c: int) -> Result:
    from pymongo import UpdateOne

    client = make_client(uri)
    name = f"runs_ceiling_{uuid.uuid4().hex[:6]}"
    await ensure_indexes(
        client[db_name], [replace(i, collection=name) for i in INDEXES if i.collection == "runs"]
    )
    collection = client[db_name][name]
    queue = list(docs)
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            batch = queue.pop()
            started = time.perf_counter()
            await collection.bulk_write(
                [UpdateOne({"_id": d["_id"]}, {"$set": d}, upsert=True) for d in batch],
                ordered=False,
            )
            latencies.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    took = time.perf_counter() - began
    await collection.drop()
    await client.close()
    spans = sum(len(b) for b in docs)
    return Result("driver ceiling (bulk upsert)", c, spans, 0, took, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--concurrency", default="1,4")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    bodies = batches(args.batches, args.batch_size)
    docs, mapping_seconds = mapped(bodies)
    spans = sum(len(b) for b in docs)
    db_name = f"bench_otlp_{uuid.uuid4().hex[:6]}"
    results: list[Result] = []
    with store() as uri:
        secret = asyncio.run(setup(uri, db_name))
        with server(uri, db_name, extra_env={"PLAUDIT_OTLP_MAX_CONCURRENT_REQUESTS": "64"}) as (
            url,
            _,
        ):
            for c in levels:
                # Fresh span ids per level: every request creates its runs.
                results.append(
                    asyncio.run(
                        through_service(url, secret, batches(args.batches, args.batch_size), c)
                    )
                )
                results.append(
                    asyncio.run(
                        ceiling(uri, db_name, mapped(batches(args.batches, args.batch_size))[0], c)
                    )
                )
    print(
        f"\n{spans} spans per pass, {args.batch_size} a request; mapping alone: "
        f"{spans / mapping_seconds:,.0f} spans/s\n"
    )
    print("| path | concurrency | spans/s | p50 ms/request | p95 ms/request | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.name} | {r.concurrency} | {r.rate:,.0f} | {percentile(r.latencies, 50):,.0f} "
            f"| {percentile(r.latencies, 95):,.0f} | {r.errors} |"
        )


if __name__ == "__main__":
    main()
