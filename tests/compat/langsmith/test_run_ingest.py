"""Run ingestion at the HTTP level: every time format the SDKs send, the JS SDK's
sub-millisecond ordering suffix, and batches where some runs are refused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.compat.langsmith.test_http import h
from tests.conftest import GraphQLClient, Keys

TIMES = "query($id: ID!) { run(id: $id) { startTime endTime latencyMs } }"


async def times_of(gql: GraphQLClient, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = (await gql.ok(TIMES, {"id": run_id}))["run"]
    return run


@pytest.mark.parametrize(
    ("start", "end", "stored_start", "stored_end"),
    [
        # The JS SDK: Date.now() numbers.
        (1741064767123, 1741064768623, "2025-03-04T05:06:07.123000", "2025-03-04T05:06:08.623000"),
        # The Python SDK: isoformat() of an aware and of a naive datetime.
        (
            "2025-03-04T05:06:07.123456+00:00",
            "2025-03-04T05:06:08.000001+00:00",
            "2025-03-04T05:06:07.123000",
            "2025-03-04T05:06:08",
        ),
        ("2025-03-04T05:06:07.5", "2025-03-04T05:06:08", "2025-03-04T05:06:07.500000", None),
        # The JS SDK's Date.toISOString(), and other zones.
        (
            "2025-03-04T05:06:07.123Z",
            "2025-03-04T10:36:08+05:30",
            "2025-03-04T05:06:07.123000",
            None,
        ),
        # The JS SDK's RunTree start: milliseconds plus a microsecond ordering suffix.
        ("2025-03-04T05:06:07.123002Z", 1741064767123, "2025-03-04T05:06:07.123000", None),
    ],
)
@pytest.mark.parametrize("route", ["post", "patch", "batch"])
async def test_every_time_format_the_sdks_send(
    http: httpx.AsyncClient,
    gql: GraphQLClient,
    keys: Keys,
    route: str,
    start: Any,
    end: Any,
    stored_start: str,
    stored_end: str | None,
) -> None:
    run_id = str(uuid.uuid4())
    run = {"id": run_id, "name": "t", "run_type": "llm", "start_time": start, "end_time": end}
    if route == "post":
        response = await http.post("/runs", json=run, headers=h(keys.ingest))
    elif route == "patch":
        response = await http.patch(f"/runs/{run_id}", json=run, headers=h(keys.ingest))
    else:
        response = await http.post("/runs/batch", json={"post": [run]}, headers=h(keys.ingest))
    assert response.status_code == 200, response.text
    stored = await times_of(gql, run_id)
    assert stored["startTime"].startswith(stored_start)
    if stored_end is not None:
        assert stored["endTime"].startswith(stored_end)
    assert stored["latencyMs"] >= 0


async def test_sub_millisecond_disorder_is_kept_as_the_same_millisecond(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    """An end under a millisecond before its start is the ordering suffix (a start
    sent at "<ms>.<execution order>", an end at the whole millisecond): kept, with
    the end at the start. A millisecond or more before is refused."""
    cases = [
        ("2025-03-04T05:06:07.123999Z", "2025-03-04T05:06:07.123Z"),
        ("2025-03-04T05:06:07.124001Z", "2025-03-04T05:06:07.123999Z"),
    ]
    for start, end in cases:
        run_id = str(uuid.uuid4())
        run = {"id": run_id, "name": "s", "start_time": start, "end_time": end}
        response = await http.post("/runs", json=run, headers=h(keys.ingest))
        assert response.status_code == 200, response.text
        stored = await times_of(gql, run_id)
        assert stored["startTime"] == stored["endTime"] and stored["latencyMs"] == 0
    late = {
        "id": str(uuid.uuid4()),
        "start_time": "2025-03-04T05:06:07.124Z",
        "end_time": "2025-03-04T05:06:07.123Z",
    }
    response = await http.post("/runs", json=late, headers=h(keys.ingest))
    assert response.status_code == 400
    assert response.json()["detail"] == "end_time is before start_time"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (1e300, "start_time must be milliseconds since 1970 within years 1-9999"),
        ("yesterday", "start_time must be an ISO 8601 time"),
        (True, "is not of type"),
    ],
)
async def test_bad_times_are_named(
    http: httpx.AsyncClient, keys: Keys, value: Any, words: str
) -> None:
    run = {"id": str(uuid.uuid4()), "start_time": value}
    response = await http.post("/runs", json=run, headers=h(keys.ingest))
    assert response.status_code == 400
    assert words in response.json()["detail"]


async def test_a_batch_stores_its_good_runs_and_names_the_bad_ones(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    good, bad_times, patched = (str(uuid.uuid4()) for _ in range(3))
    body = {
        "post": [
            {"id": good, "name": "good", "start_time": 1741064767123},
            {"id": bad_times, "start_time": 1741064767123, "end_time": 1741064760000},
            {"name": "no id"},
            {"id": patched, "name": "patched later"},
        ],
        "patch": [
            {"id": "not-a-uuid", "outputs": {}},
            {"id": patched, "outputs": {"ok": True}, "end_time": "2030-01-01T00:00:00Z"},
        ],
    }
    response = await http.post("/runs/batch", json=body, headers=h(keys.ingest))
    assert response.status_code == 400
    answer = response.json()
    assert answer["stored"] == {"post": 2, "patch": 1}
    assert [(r["op"], r["index"], r["id"], r["status"]) for r in answer["refused"]] == [
        ("post", 1, bad_times, 400),
        ("post", 2, "None", 400),
        ("patch", 0, "not-a-uuid", 400),
    ]
    assert answer["refused"][0]["detail"] == "end_time is before start_time"
    assert answer["refused"][0]["field"] == "end_time"
    assert answer["detail"].startswith("3 of 6 runs refused (the others are stored)")
    assert bad_times in answer["detail"]
    data = await gql.ok("query($id: ID!) { run(id: $id) { name } }", {"id": good})
    assert data["run"] == {"name": "good"}
    done = await gql.ok("query($id: ID!) { run(id: $id) { name outputs } }", {"id": patched})
    assert done["run"] == {"name": "patched later", "outputs": {"ok": True}}
    missing = await gql.ok("query($id: ID!) { run(id: $id) { id } }", {"id": bad_times})
    assert missing["run"] is None


async def test_run_ids_of_another_project_are_refused_alone(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    theirs = str(uuid.uuid4())
    response = await http.post("/runs", json={"id": theirs}, headers=h(other_keys.ingest))
    assert response.status_code == 200
    mine = str(uuid.uuid4())
    body = {"post": [{"id": theirs, "name": "steal"}, {"id": mine, "name": "mine"}]}
    response = await http.post("/runs/batch", json=body, headers=h(keys.ingest))
    # Every refusal is a conflict: 409, which the Python SDK passes over.
    assert response.status_code == 409
    assert response.json()["stored"] == {"post": 1, "patch": 0}
    assert response.json()["refused"][0]["id"] == theirs
    data = await gql.ok("query($id: ID!) { run(id: $id) { name } }", {"id": mine})
    assert data["run"] == {"name": "mine"}
