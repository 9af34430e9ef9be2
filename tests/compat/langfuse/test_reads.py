"""Langfuse's read routes (traces, observations, sessions) over hand-made spans and
runs: their filters, pages, errors (the real SDKs: tests/compat/langfuse/sdk/)."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import httpx

from tests.compat.langfuse.helpers import Pair, key_pair, send_trace
from tests.conftest import GraphQLClient, Keys

INGEST = """mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }"""


async def get(http: httpx.AsyncClient, pair: Pair, path: str, status: int = 200) -> Any:
    response = await http.get(f"/api/public{path}", headers=pair.basic())
    assert response.status_code == status, response.text
    return response.json()


async def test_trace_list_filters_and_pages(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    pair = await key_pair(gql)
    first = await send_trace(
        http,
        pair,
        0,
        {
            "langfuse.trace.name": "alpha",
            "user.id": "a",
            "session.id": "s1",
            "langfuse.trace.tags": ["x"],
        },
    )
    second = await send_trace(
        http, pair, 1, {"user.id": "b", "session.id": "s1", "langfuse.trace.tags": ["x", "y"]}
    )
    third = await send_trace(http, pair, 2, {"user.id": "a", "session.id": "s2"})
    # A run from elsewhere (GraphQL, as LangSmith's SDK sends them): a trace too.
    other = str(uuid.uuid4())
    await gql.ok(
        INGEST, {"runs": [{"id": other, "name": "other", "startTime": "2025-06-01T00:00:00Z"}]}
    )

    async def ids(query: str) -> list[str]:
        return [t["id"] for t in (await get(http, pair, f"/traces?{query}"))["data"]]

    assert await ids("userId=a") == [third["trace"], first["trace"]]
    assert await ids("tags=x&tags=y") == [second["trace"]]
    assert await ids("name=alpha") == [first["trace"]]
    assert await ids("sessionId=s1") == [second["trace"], first["trace"]]
    assert await ids("fromTimestamp=2026-01-01T00:30:00Z&toTimestamp=2026-01-01T02:00:00Z") == [
        second["trace"]
    ]
    assert await ids("environment=production") == []
    everything = [third["trace"], second["trace"], first["trace"], uuid.UUID(other).hex]
    assert await ids("environment=default") == everything
    page = await get(http, pair, "/traces?limit=3&page=2")
    assert [t["id"] for t in page["data"]] == [uuid.UUID(other).hex]
    assert page["meta"] == {"page": 2, "limit": 3, "totalItems": 4, "totalPages": 2}
    listed = (await get(http, pair, "/traces?name=alpha"))["data"][0]
    assert listed["observations"] and set(listed["observations"]) == {first["root"], first["gen"]}
    assert listed["timestamp"] == "2026-01-01T00:00:00.000Z"

    for unsupported in ("orderBy=timestamp.asc", "version=2", "release=r1"):
        body = await get(http, pair, f"/traces?{unsupported}", 400)
        assert unsupported.split("=")[0] in body["detail"]
    body = await get(http, pair, "/traces?page=500&limit=100", 400)
    assert "page" in body["detail"]


async def test_a_trace_its_observations_and_not_found(
    http: httpx.AsyncClient, gql: GraphQLClient, other_keys: Keys
) -> None:
    pair = await key_pair(gql)
    sent = await send_trace(http, pair, 0, {"langfuse.trace.name": "t", "session.id": "s9"})
    trace = await get(http, pair, f"/traces/{sent['trace']}")
    assert trace["name"] == "t" and trace["environment"] == "default"
    by_id = {o["id"]: o for o in trace["observations"]}
    assert by_id[sent["root"]]["parentObservationId"] is None
    assert by_id[sent["gen"]]["parentObservationId"] == sent["root"]
    assert (by_id[sent["root"]]["type"], by_id[sent["gen"]]["type"]) == ("SPAN", "GENERATION")
    # The same trace by its id as a UUID; an observation by its span id alone.
    assert (await get(http, pair, f"/traces/{uuid.UUID(sent['trace'])}"))["id"] == sent["trace"]
    observation = await get(http, pair, f"/observations/{sent['gen']}")
    assert observation["traceId"] == sent["trace"]

    assert (await get(http, pair, f"/traces/{os.urandom(16).hex()}", 404))["detail"]
    await get(http, pair, f"/observations/{os.urandom(8).hex()}", 404)
    await get(http, pair, "/sessions/nobody", 404)
    body = await get(http, pair, "/traces/not-an-id", 400)
    assert "traceId" in body["detail"]
    # The trace's own run is no observation.
    await get(http, pair, f"/observations/{uuid.UUID(sent['trace'])}", 404)
    # Another project's key sees none of it; no key, 401.
    stranger = await key_pair(GraphQLClient(http, other_keys.admin))
    await get(http, stranger, f"/traces/{sent['trace']}", 404)
    assert (await http.get("/api/public/traces")).status_code == 401


async def test_observation_filters(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    pair = await key_pair(gql)
    sent = await send_trace(http, pair, 0, {"user.id": "u1"})
    later = await send_trace(http, pair, 1, {"user.id": "u2"})
    # An LLM run from elsewhere: a GENERATION by its run type.
    llm = str(uuid.uuid4())
    await gql.ok(
        INGEST,
        {
            "runs": [
                {
                    "id": llm,
                    "name": "ls-llm",
                    "metadata": {"ls_run_type": "llm"},
                    "inputs": {"input": "hi"},
                    "startTime": "2025-06-01T00:00:00Z",
                }
            ]
        },
    )

    async def ids(path: str) -> list[str]:
        return [o["id"] for o in (await get(http, pair, path))["data"]]

    assert await ids("/observations?type=GENERATION") == [later["gen"], sent["gen"], llm]
    assert await ids("/observations?type=span") == [later["root"], sent["root"]]
    # Spans starting at the same time: in no set order.
    assert sorted(await ids(f"/observations?traceId={sent['trace']}")) == sorted(
        [sent["root"], sent["gen"]]
    )
    assert await ids(f"/observations?parentObservationId={sent['root']}") == [sent["gen"]]
    assert await ids("/observations?userId=u2&name=gen") == [later["gen"]]
    assert sorted(await ids("/observations?fromStartTime=2026-01-01T00:30:00Z")) == sorted(
        [later["root"], later["gen"]]
    )
    ls = await get(http, pair, f"/observations/{llm}")
    assert (ls["type"], ls["input"], ls["parentObservationId"]) == ("GENERATION", "hi", None)
    page = await get(http, pair, "/observations?limit=2&page=3")
    assert page["meta"] == {"page": 3, "limit": 2, "totalItems": 5, "totalPages": 3}

    # v2: a cursor while more remain; inputs and outputs as JSON text.
    v2 = await get(http, pair, "/v2/observations?limit=2&type=GENERATION")
    assert [o["id"] for o in v2["data"]] == [later["gen"], sent["gen"]]
    cursor = v2["meta"]["cursor"]
    rest = await get(http, pair, f"/v2/observations?limit=2&type=GENERATION&cursor={cursor}")
    assert [o["input"] for o in rest["data"]] == [json.dumps("hi")] and rest["meta"] == {}
    assert (await get(http, pair, "/v2/observations?cursor=nonsense", 400))["detail"]

    body = await get(http, pair, "/observations?type=thought", 400)
    assert "type" in body["detail"] and "GENERATION" in body["detail"]
    for unsupported in ("level=ERROR", "version=1"):
        body = await get(http, pair, f"/observations?{unsupported}", 400)
        assert unsupported.split("=")[0] in body["detail"]
    for refused in ("isRootObservation=true", "filter=[]", "parseIoAsJson=true"):
        body = await get(http, pair, f"/v2/observations?{refused}", 400)
        assert refused.split("=")[0] in body["detail"]


async def test_sessions_pages_and_times(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    pair = await key_pair(gql)
    for hours, session in ((0, "s-old"), (1, "s-mid"), (2, "s-new"), (3, "s-old")):
        await send_trace(http, pair, hours, {"session.id": session})
    listed = await get(http, pair, "/sessions")
    # The most recently active first; created when their first run started.
    assert [s["id"] for s in listed["data"]] == ["s-old", "s-new", "s-mid"]
    assert listed["data"][0]["createdAt"] == "2026-01-01T00:00:00.000Z"
    assert listed["meta"] == {"page": 1, "limit": 50, "totalItems": 3, "totalPages": 1}
    window = "/sessions?fromTimestamp=2026-01-01T01:30:00Z&limit=1"
    first = await get(http, pair, window)
    assert [s["id"] for s in first["data"]] == ["s-old"]
    # Another page follows: counted, not yet read.
    assert first["meta"] == {"page": 1, "limit": 1, "totalItems": 2, "totalPages": 2}
    second = await get(http, pair, f"{window}&page=2")
    assert [s["id"] for s in second["data"]] == ["s-new"]
    assert second["meta"] == {"page": 2, "limit": 1, "totalItems": 2, "totalPages": 2}
    # The run that holds a session's scores (i22-scores) is neither trace nor observation.
    holder = str(uuid.uuid4())
    await gql.ok(
        INGEST,
        {
            "runs": [
                {
                    "id": holder,
                    "name": "session s-mid",
                    "sessionId": "s-mid",
                    "metadata": {"langfuse.session": True},
                    "startTime": "2025-06-01T00:00:00Z",
                }
            ]
        },
    )
    assert len((await get(http, pair, "/sessions/s-mid"))["traces"]) == 1
    assert len((await get(http, pair, "/traces"))["data"]) == 4
    assert len((await get(http, pair, "/observations"))["data"]) == 8
    await get(http, pair, f"/traces/{uuid.UUID(holder).hex}", 404)
    await get(http, pair, f"/observations/{holder}", 404)
    session = await get(http, pair, "/sessions/s-old")
    assert [t["timestamp"] for t in session["traces"]] == [
        "2026-01-01T00:00:00.000Z",
        "2026-01-01T03:00:00.000Z",
    ]
    body = await get(http, pair, "/sessions?userId=x", 400)
    assert "userId" in body["detail"]
