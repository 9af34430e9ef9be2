"""Generated and hostile input: never a 5xx, never a masked bug, never a leak."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import Keys
from tests.live import live_server, make_project_sync
from tests.reliability.fuzzing import check_body, fuzz_graphql


@pytest.fixture
def server(settings: Settings, sync_db: Any) -> Iterator[tuple[str, Keys]]:
    keys = make_project_sync(settings, "fuzz")
    with live_server(settings) as url:
        yield url, keys


def test_generated_graphql(server: tuple[str, Keys]) -> None:
    """schemathesis generates queries and mutations from the schema for every field."""
    url, keys = server
    headers = {"Authorization": f"Bearer {keys.admin}"}
    fields = fuzz_graphql(url, headers)
    assert len(fields) > 10


def post(url: str, key: str, payload: Any) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql", headers={"Authorization": f"Bearer {key}"}, json=payload, timeout=30
    )


def test_hostile_inputs(server: tuple[str, Keys]) -> None:
    url, keys = server
    injection = {"$gt": ""}
    mutation = "mutation($input: FeedbackInput!) { createFeedback(input: $input) { id } }"
    cases: list[Any] = [
        # NoSQL-operator injection in every field of a feedback input.
        *(
            {
                "query": mutation,
                "variables": {"input": {"runId": "x", "key": "k", field: injection}},
            }
            for field in ("runId", "key", "comment", "userId", "id", "sourceType", "score")
        ),
        {"query": "query($id: ID!) { run(id: $id) { id } }", "variables": {"id": injection}},
        {"query": '{ runs(after: "eyIkZ3QiOiIifQ") { nodes { id } } }'},
        # Deep nesting of the query itself and of JSON variables.
        {"query": "{" * 500 + "}" * 500},
        {
            "query": "mutation($r: [RunInput!]!) { ingestRuns(runs: $r) { id } }",
            "variables": {
                "r": [{"id": "0b6c0a4e-7f39-4a7e-9a61-2d2f5a3b9c10", "inputs": _nest(200)}]
            },
        },
        # Huge alias counts, batched operations, wrong shapes.
        {"query": "{ " + " ".join(f"a{i}: project {{ id }}" for i in range(5000)) + " }"},
        [{"query": "{ project { id } }"}] * 50,
        {"query": 12},
        {"variables": "nope"},
        "just a string",
    ]
    for payload in cases:
        check_body(post(url, keys.admin, payload))
    # Bodies that are not JSON, not UTF-8, or too large.
    raw_cases = [
        b"\xff\xfe\x00garbage",
        b'{"query": "{ project { id } }"',
        b"x" * (10 * 1024 * 1024),
    ]
    for body in raw_cases:
        response = httpx.post(
            f"{url}/graphql",
            content=body,
            headers={"Authorization": f"Bearer {keys.admin}", "Content-Type": "application/json"},
            timeout=60,
        )
        assert 400 <= response.status_code < 500, response.status_code
    # Still serving after all that.
    ok = post(url, keys.admin, {"query": "{ project { name } }"})
    assert ok.json() == {"data": {"project": {"name": "fuzz"}}}


def _nest(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return json.loads(json.dumps(value))
