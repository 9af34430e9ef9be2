from __future__ import annotations

import uuid

from tests.conftest import GraphQLClient


async def test_health(http):  # type: ignore[no-untyped-def]
    assert (await http.get("/healthz")).json()["status"] == "ok"
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_ingest_and_read_run(gql: GraphQLClient) -> None:
    run_id = str(uuid.uuid4())
    data = await gql.ok(
        "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id name tags } }",
        {"runs": [{"id": run_id, "name": "chat", "tags": ["a"], "inputs": {"q": "hi"}}]},
    )
    assert data["ingestRuns"] == [{"id": run_id, "name": "chat", "tags": ["a"]}]
