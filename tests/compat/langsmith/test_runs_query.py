"""POST /runs/query at the HTTP level: every argument, LangSmith's filter language,
select, order, keyset pages, and the bound on runs read per page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.compat.langsmith import run_mapping
from app.domain import run_search
from tests.compat.langsmith.test_http import h
from tests.conftest import Keys

T = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T + timedelta(seconds=seconds)).isoformat()


@dataclass
class Seeded:
    ids: dict[str, str]
    p1: str
    p2: str


@pytest.fixture
async def seeded(http: httpx.AsyncClient, keys: Keys) -> Seeded:
    ids = {name: str(uuid.uuid4()) for name in ("r1", "r2", "r3", "r4", "r5")}
    r1, r2, r3, r4, r5 = (ids[n] for n in ("r1", "r2", "r3", "r4", "r5"))
    runs = [
        {
            "id": r1,
            "trace_id": r1,
            "name": "agent",
            "run_type": "chain",
            "session_name": "p1",
            "tags": ["prod"],
            "extra": {"metadata": {"env": "prod", "user": "ann", "thread_id": "t-1"}},
            "start_time": at(1),
            "end_time": at(3),
            "outputs": {
                "usage_metadata": {"input_tokens": 90, "output_tokens": 10, "total_tokens": 100}
            },
        },
        {
            "id": r2,
            "trace_id": r1,
            "parent_run_id": r1,
            "name": "llm-call",
            "run_type": "llm",
            "session_name": "p1",
            "tags": ["prod", "gpt"],
            "extra": {"metadata": {"ls_model_name": "m-1"}},
            "start_time": at(1.5),
            "end_time": at(2),
            "outputs": {
                "usage_metadata": {"input_tokens": 30, "output_tokens": 10, "total_tokens": 40}
            },
        },
        {
            "id": r3,
            "trace_id": r1,
            "parent_run_id": r2,
            "name": "tool",
            "run_type": "tool",
            "session_name": "p1",
            "error": "boom: Timeout",
            "start_time": at(1.6),
            "end_time": at(1.7),
        },
        {
            "id": r4,
            "trace_id": r4,
            "name": "agent",
            "run_type": "chain",
            "session_name": "p2",
            "tags": ["dev"],
            "extra": {"metadata": {"env": "dev"}},
            "start_time": at(5),
            "end_time": at(15),
        },
        {
            "id": r5,
            "trace_id": r5,
            "name": "summarize",
            "run_type": "llm",
            "session_name": "p1",
            "inputs": {"text": "a Needle in a haystack"},
            "start_time": at(6),
        },
    ]
    response = await http.post("/runs/batch", json={"post": runs}, headers=h(keys.ingest))
    assert response.status_code == 200, response.text
    for run_id, key, score in ((r1, "thumbs", 1), (r4, "thumbs", 0), (r2, "stars", 4)):
        response = await http.post(
            "/feedback", json={"run_id": run_id, "key": key, "score": score}, headers=h(keys.ingest)
        )
        assert response.status_code == 200, response.text
    sessions = {}
    for name in ("p1", "p2"):
        [found] = (await http.get("/sessions", params={"name": name}, headers=h(keys.read))).json()
        sessions[name] = found["id"]
    return Seeded(ids=ids, p1=sessions["p1"], p2=sessions["p2"])


async def query(http: httpx.AsyncClient, keys: Keys, **body: Any) -> httpx.Response:
    return await http.post("/runs/query", json=body, headers=h(keys.read))


async def names(http: httpx.AsyncClient, keys: Keys, seeded: Seeded, **body: Any) -> list[str]:
    """The runs found (all pages), as r1..r5, in the order answered."""
    by_id = {run_id: name for name, run_id in seeded.ids.items()}
    found: list[str] = []
    cursor = None
    while True:
        response = await query(http, keys, **body, cursor=cursor)
        assert response.status_code == 200, response.text
        page = response.json()
        found += [by_id[r["id"]] for r in page["runs"]]
        cursor = page["cursors"]["next"]
        if cursor is None:
            return found


async def test_arguments(http: httpx.AsyncClient, keys: Keys, seeded: Seeded) -> None:
    ids = seeded.ids
    p1, p2 = seeded.p1, seeded.p2
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"session": [p1]}, ["r5", "r3", "r2", "r1"]),
        ({"session": [p1], "order": "asc"}, ["r1", "r2", "r3", "r5"]),
        ({"session": [p1, p2]}, ["r5", "r4", "r3", "r2", "r1"]),
        ({"session_id": p2}, ["r4"]),  # how the Python SDK's read_run lists a trace
        ({"session": [p1], "is_root": True}, ["r5", "r1"]),
        ({"is_root": True}, ["r5", "r4", "r1"]),
        ({"is_root": False}, ["r3", "r2"]),
        ({"trace": ids["r1"]}, ["r3", "r2", "r1"]),
        ({"parent_run": ids["r1"]}, ["r2"]),
        ({"run_type": "llm"}, ["r5", "r2"]),
        ({"error": True}, ["r3"]),
        ({"error": False, "session": [p1]}, ["r5", "r2", "r1"]),
        ({"start_time": at(5)}, ["r5", "r4"]),
        ({"id": [ids["r1"], ids["r4"]]}, ["r4", "r1"]),
        ({"id": [ids["r1"], ids["r4"]], "order": "asc", "limit": 1}, ["r1", "r4"]),
        ({"session": [str(uuid.uuid4())]}, []),
    ]
    for body, expected in cases:
        assert await names(http, keys, seeded, **body) == expected, body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('eq(name, "agent")', ["r4", "r1"]),
        ("neq(name, 'agent')", ["r5", "r3", "r2"]),
        ('and(eq(run_type, "chain"), gt(latency, 5))', ["r4"]),
        ("gte(latency, 2)", ["r4", "r1"]),
        ("lt(latency, 0.2)", ["r3"]),
        ('has(tags, "gpt")', ["r2"]),
        ('eq(tags, "prod")', ["r2", "r1"]),
        ('in(name, ["tool", "summarize"])', ["r5", "r3"]),
        ("""has(metadata, '{"env": "prod"}')""", ["r1"]),
        ('has(metadata, "user")', ["r1"]),
        ('and(eq(metadata_key, "env"), eq(metadata_value, "dev"))', ["r4"]),
        ('eq(metadata_key, "user")', ["r1"]),
        ('eq(metadata_value, "prod")', ["r1"]),
        ('search("needle")', ["r5"]),
        ('search(error, "TIMEOUT")', ["r3"]),
        ('search(name, "summ")', ["r5"]),
        ("neq(error, null)", ["r3"]),
        ("and(eq(error, null), eq(run_type, 'chain'))", ["r4", "r1"]),
        ("gt(total_tokens, 50)", ["r1"]),
        ("lte(prompt_tokens, 30)", ["r2"]),
        ('and(eq(feedback_key, "thumbs"), eq(feedback_score, 0))', ["r4"]),
        ('eq(feedback_key, "thumbs")', ["r4", "r1"]),
        ('and(eq(feedback_key, "stars"), gte(feedback_score, 4))', ["r2"]),
        ('and(eq(feedback_key, "stars"), gt(feedback_score, 4))', []),
        ('or(eq(name, "tool"), has(tags, "dev"))', ["r4", "r3"]),
        ('not(eq(run_type, "chain"))', ["r5", "r3", "r2"]),
        ("eq(is_root, true)", ["r5", "r4", "r1"]),
        ('eq(thread_id, "t-1")', ["r1"]),
        ('eq(status, "pending")', ["r5"]),
        ('eq(model, "m-1")', ["r2"]),
        (f'gt(start_time, "{at(5.5)}")', ["r5"]),
        (f'and(gte(start_time, "{at(1.5)}"), lt(start_time, "{at(5)}"))', ["r3", "r2"]),
        ('eq(name, "agent"), has(tags, "dev")', ["r4"]),
        ("or(eq(feedback_key, 'stars'), eq(name, 'summarize'))", ["r5", "r2"]),
    ],
)
async def test_filters(
    http: httpx.AsyncClient, keys: Keys, seeded: Seeded, text: str, expected: list[str]
) -> None:
    assert await names(http, keys, seeded, filter=text) == expected


async def test_filters_on_ids(http: httpx.AsyncClient, keys: Keys, seeded: Seeded) -> None:
    ids = seeded.ids
    assert await names(http, keys, seeded, filter=f'eq(trace_id, "{ids["r1"]}")') == [
        "r3",
        "r2",
        "r1",
    ]
    assert await names(http, keys, seeded, filter=f'eq(parent_run_id, "{ids["r2"]}")') == ["r3"]
    assert await names(http, keys, seeded, filter=f'eq(session_id, "{seeded.p2}")') == ["r4"]
    text = f'in(id, ["{ids["r2"]}", "{ids["r5"]}"])'
    assert await names(http, keys, seeded, filter=text) == ["r5", "r2"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"filter": 'like(name, "a")'}, "unknown function 'like' at character 1"),
        ({"filter": "eq(cost, 1)"}, "unknown field 'cost' at character 4"),
        ({"filter": "eq(total_cost, 1)"}, "Plaudit does not keep the field 'total_cost'"),
        ({"filter": 'gt(name, "a")'}, "gt() does not apply to name"),
        ({"filter": 'eq(latency, "slow")'}, "latency is compared with a number"),
        ({"filter": 'eq(name, "a"'}, "expected ')', found the end at character 13"),
        ({"filter": 'eq(name, "a'}, "unterminated string at character 10"),
        ({"filter": "and(eq(feedback_score, 1))"}, "feedback_score needs exactly one"),
        ({"filter": 'eq(id, "x")'}, "id is compared with a run id"),
        ({"filter": 'eq(start_time, "soon")'}, "expected an ISO 8601 time"),
        ({"filter": "eq(name, agent)"}, "found the name 'agent' (quote text)"),
        ({"filter": "not(eq(name, 'a'), eq(name, 'b'))"}, "not() takes one condition"),
        ({"select": ["inputs", "bogus"]}, "select: unknown run field(s) bogus"),
        ({"trace_filter": 'eq(name, "a")'}, "does not support trace_filter"),
        ({"query": "slow runs"}, "does not support query"),
        ({"order": "sideways"}, "body.order"),
        ({"session": ["nope"]}, "session must be a UUID"),
    ],
)
async def test_refusals_name_the_problem(
    http: httpx.AsyncClient, keys: Keys, seeded: Seeded, body: dict[str, Any], words: str
) -> None:
    response = await query(http, keys, **body)
    assert response.status_code == 400, response.text
    assert words in response.json()["detail"]


async def test_select(http: httpx.AsyncClient, keys: Keys, seeded: Seeded) -> None:
    page = (
        await query(http, keys, id=[seeded.ids["r2"]], select=["inputs", "feedback_stats"])
    ).json()
    [run] = page["runs"]
    assert set(run) == {*run_mapping.REQUIRED, "inputs", "feedback_stats"}
    assert run["feedback_stats"] == {"stars": {"n": 1, "avg": 4.0, "min": 4.0, "max": 4.0}}
    [whole] = (await query(http, keys, id=[seeded.ids["r3"]])).json()["runs"]
    assert set(whole) == run_mapping.SELECTABLE
    # Sent without a dotted_order: placed below its parent's, sent in the same batch.
    assert whole["parent_run_ids"] == [seeded.ids["r1"], seeded.ids["r2"]]
    assert whole["dotted_order"].startswith("20250601T120001000000Z" + seeded.ids["r1"] + ".")
    assert whole["session_id"] == seeded.p1 and whole["session_name"] == "p1"
    assert whole["status"] == "error" and whole["feedback_stats"] == {}


async def test_pages_through_runs_of_the_same_millisecond(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    same = [str(uuid.uuid4()) for _ in range(5)]
    body = {"post": [{"id": i, "name": "tie", "start_time": at(0)} for i in same]}
    assert (await http.post("/runs/batch", json=body, headers=h(keys.ingest))).status_code == 200
    for order in ("desc", "asc"):
        seen: list[str] = []
        cursor = None
        while True:
            page = (await query(http, keys, limit=2, order=order, cursor=cursor)).json()
            seen += [r["id"] for r in page["runs"]]
            cursor = page["cursors"]["next"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(same) and len(seen) == 5
        assert seen == sorted(same, reverse=order == "desc")


async def test_runs_read_per_page_are_bounded(
    http: httpx.AsyncClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the indexed filters a page reads at most EXAMINED_PER_PAGE runs: it
    answers what those held and a cursor, or, when they held nothing, refuses."""
    monkeypatch.setattr(run_search, "WINDOW", 2)
    monkeypatch.setattr(run_search, "EXAMINED_PER_PAGE", 4)
    ids = [str(uuid.uuid4()) for _ in range(10)]
    body = {
        "post": [
            {"id": run_id, "name": "rare" if n in (0, 8) else "common", "start_time": at(n)}
            for n, run_id in enumerate(ids)
        ]
    }
    assert (await http.post("/runs/batch", json=body, headers=h(keys.ingest))).status_code == 200
    first = (await query(http, keys, filter='eq(name, "rare")')).json()
    assert [r["id"] for r in first["runs"]] == [ids[8]] and first["cursors"]["next"]
    # The next 4 runs read (7..4) hold no match: refused, saying how to narrow it.
    refused = await query(http, keys, filter='eq(name, "rare")', cursor=first["cursors"]["next"])
    assert refused.status_code == 400
    assert "no run matched among the 4 runs read" in refused.json()["detail"]
    # Narrowed by time, the walk starts where the match is.
    narrowed = (
        await query(http, keys, filter='eq(name, "rare")', start_time=at(0), order="asc")
    ).json()
    assert [r["id"] for r in narrowed["runs"]] == [ids[0]]
