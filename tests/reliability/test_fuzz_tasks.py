"""Generated and hostile input for feedback tasks, review queues, preferences and
signals: never a 5xx, never a masked bug."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.domain.runs import RunWrite, ingest_runs
from app.domain.tasks.service import create_task
from app.settings import Settings
from app.store import Stores
from app.store.client import make_client
from tests.conftest import Keys
from tests.live import live_server, make_project_sync
from tests.reliability.fuzzing import check_body, fuzz_graphql

FIELDS = {
    "feedbackTasks",
    "feedbackTask",
    "taskSubmissions",
    "reviewQueue",
    "taskAgreement",
    "preferences",
    "signals",
    "createFeedbackTask",
    "updateFeedbackTask",
    "submitTaskFeedback",
    "claimReview",
    "releaseReview",
    "logPreference",
    "recordSignal",
}


def _seed(settings: Settings, project_id: str) -> tuple[str, str]:
    """A task and a run, so hostile values reach the schema check."""
    assert settings.mongodb_uri is not None
    uri = settings.mongodb_uri

    async def run() -> tuple[str, str]:
        client = make_client(uri)
        try:
            stores = Stores.open(client[settings.db_name])
            task = await create_task(
                stores,
                project_id,
                name="T",
                schema={"type": "object", "properties": {"n": {"type": "integer"}}},
            )
            run_id = str(uuid.uuid4())
            await ingest_runs(stores, project_id, [RunWrite(id=run_id, outputs="x")])
            return task.id, run_id
        finally:
            await client.close()

    return asyncio.run(run())


@pytest.fixture
def server(settings: Settings, sync_db: Any) -> Iterator[tuple[str, Keys, str, str]]:
    keys = make_project_sync(settings, "fuzz-tasks")
    task_id, run_id = _seed(settings, keys.project_id)
    with live_server(settings) as url:
        yield url, keys, task_id, run_id


def test_generated(server: tuple[str, Keys, str, str]) -> None:
    url, keys, _, _ = server
    headers = {"Authorization": f"Bearer {keys.admin}"}
    assert fuzz_graphql(url, headers, fields=FIELDS, examples=15) == FIELDS


def _nest(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_hostile_values(server: tuple[str, Keys, str, str]) -> None:
    url, keys, task_id, run_id = server
    submit = (
        "mutation($t: ID!, $r: ID!, $v: JSON!) { submitTaskFeedback(taskId: $t, runId: $r, "
        "values: $v) { submission { values } } }"
    )
    create = 'mutation($s: JSON!) { createFeedbackTask(name: "X", schema: $s) { id } }'
    signal = (
        "mutation($r: ID!, $e: JSON) { recordSignal(runId: $r, kind: EDIT, editedOutput: $e) "
        "{ editedOutput } }"
    )
    cases: list[tuple[str, dict[str, Any]]] = [
        (submit, {"t": task_id, "r": run_id, "v": {"$where": "1", "n": {"$gt": 0}}}),
        (submit, {"t": task_id, "r": run_id, "v": {"a.b": 1, "$x": 2}}),
        (submit, {"t": task_id, "r": run_id, "v": _nest(100)}),
        (submit, {"t": {"$gt": ""}, "r": run_id, "v": {}}),
        (submit, {"t": task_id, "r": run_id, "v": "x" * 100_000}),
        (create, {"s": {"$gt": ""}}),
        (create, {"s": {"type": "object", "properties": {"p": {"pattern": "("}}}}),
        (create, {"s": {"type": "object", "$ref": "#/$defs/" + "a" * 5000}}),
        (create, {"s": _nest(100)}),
        (create, {"s": {"type": "object", "properties": {"x": {"$ref": "#"}}}}),
        (signal, {"r": run_id, "e": {"$set": {"a": 1}}}),
        (signal, {"r": run_id, "e": _nest(100)}),
        ('{ reviewQueue(taskId: "x", after: "eyIkZ3QiOiIifQ") { nodes { reviewCount } } }', {}),
        ('{ preferences(filter: {runId: "nope"}) { nodes { id } } }', {}),
    ]
    headers = {"Authorization": f"Bearer {keys.admin}"}
    for query, variables in cases:
        response = httpx.post(
            f"{url}/graphql",
            json={"query": query, "variables": variables},
            headers=headers,
            timeout=60,
        )
        check_body(response)
    # Operator-like keys in values are kept as data, not run as operators.
    response = httpx.post(
        f"{url}/graphql",
        json={"query": signal, "variables": {"r": run_id, "e": {"$set": {"a.b": 1}}}},
        headers=headers,
        timeout=60,
    )
    assert response.json()["data"]["recordSignal"]["editedOutput"] == {"$set": {"a.b": 1}}
