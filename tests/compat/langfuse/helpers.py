"""Langfuse-style key pairs for the tests, made as an admin makes them (GraphQL),
and Langfuse traces sent as hand-made spans."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

import httpx

from tests.compat.otlp.spans import START_NS, export_request, make_span
from tests.conftest import GraphQLClient

HOUR_NS = 3600 * 10**9

CREATE = """mutation($role: Role!) { createApiKey(role: $role, name: "lf", langfuse: true) {
  apiKey { id publicKey prefix } secret } }"""


@dataclass
class Pair:
    id: str
    public_key: str
    secret: str

    def basic(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.public_key}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


async def key_pair(gql: GraphQLClient, role: str = "ADMIN") -> Pair:
    created = (await gql.ok(CREATE, {"role": role}))["createApiKey"]
    return Pair(created["apiKey"]["id"], created["apiKey"]["publicKey"], created["secret"])


def at(span: Any, hours: int) -> Any:
    span.start_time_unix_nano = START_NS + hours * HOUR_NS
    span.end_time_unix_nano = span.start_time_unix_nano + 250_000_000
    return span


async def send_trace(
    http: httpx.AsyncClient, pair: Pair, hours: int, attrs: dict[str, Any]
) -> dict[str, str]:
    """A Langfuse trace: a root span and a generation under it, ``hours`` after START."""
    trace, root, child = os.urandom(16), os.urandom(8), os.urandom(8)
    spans = [
        at(make_span("root", attrs, trace_id=trace, span_id=root), hours),
        at(
            make_span(
                "gen",
                {"langfuse.observation.type": "generation", **attrs},
                trace_id=trace,
                span_id=child,
                parent=root,
            ),
            hours,
        ),
    ]
    response = await http.post(
        "/api/public/otel/v1/traces",
        content=export_request(spans).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", **pair.basic()},
    )
    assert response.status_code == 200, response.text
    return {"trace": trace.hex(), "root": root.hex(), "gen": child.hex()}
