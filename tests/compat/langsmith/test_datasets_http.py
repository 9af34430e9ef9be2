"""Datasets and examples at the HTTP level, and through GraphQL: keyset pages,
projects kept apart, and the errors bad input gets."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.compat.langsmith.test_http import h
from tests.conftest import GraphQLClient, Keys

EXAMPLES_PAGE = """query($name: String!, $after: String, $split: String) {
  dataset(name: $name) {
    examples(first: 3, after: $after, split: $split) {
      nodes { inputs splits } pageInfo { hasNextPage endCursor }
    }
  }
}"""
COMPARE = (
    "query($ids: [ID!]!) { experimentComparison(experimentIds: $ids) { experiments { runCount } } }"
)
DATASETS_PAGE = """query($after: String) {
  datasets(first: 2, after: $after) { nodes { name } pageInfo { hasNextPage endCursor } }
}"""


async def make_dataset(http: httpx.AsyncClient, key: str, name: str, n: int) -> dict[str, Any]:
    response = await http.post("/datasets", json={"name": name}, headers=h(key))
    assert response.status_code == 200, response.text
    dataset: dict[str, Any] = response.json()
    if n:
        bulk = [
            {"dataset_id": dataset["id"], "inputs": {"i": i}, "split": "odd" if i % 2 else "even"}
            for i in range(n)
        ]
        created = await http.post("/examples/bulk", json=bulk, headers=h(key))
        assert created.status_code == 200, created.text
    return dataset


async def test_examples_and_datasets_page_by_keyset(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    await make_dataset(http, keys.ingest, "seven", 7)
    seen, after = [], None
    while True:
        data = await gql.ok(EXAMPLES_PAGE, {"name": "seven", "after": after})
        page = data["dataset"]["examples"]
        seen += [n["inputs"]["i"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(range(7))  # in the order they were sent
    odd = await gql.ok(EXAMPLES_PAGE, {"name": "seven", "split": "odd"})
    assert [n["inputs"]["i"] for n in odd["dataset"]["examples"]["nodes"]] == [1, 3, 5]

    for name in ("b", "c", "d"):
        await make_dataset(http, keys.ingest, name, 0)
    names, after = [], None
    while True:
        page = (await gql.ok(DATASETS_PAGE, {"after": after}))["datasets"]
        names += [n["name"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert names == ["d", "c", "b", "seven"]  # newest first


async def test_projects_are_kept_apart(
    http: httpx.AsyncClient, keys: Keys, other_keys: Keys
) -> None:
    dataset = await make_dataset(http, keys.ingest, "mine", 2)
    theirs = h(other_keys.admin)
    assert (await http.get(f"/datasets/{dataset['id']}", headers=theirs)).status_code == 404
    assert (await http.get("/datasets", headers=theirs)).json() == []
    listed = await http.get("/examples", params={"dataset": dataset["id"]}, headers=theirs)
    assert listed.status_code == 404
    bulk = [{"dataset_id": dataset["id"], "inputs": {"x": 1}}]
    assert (await http.post("/examples/bulk", json=bulk, headers=theirs)).status_code == 404
    # A read key reads, and cannot write.
    assert (await http.get(f"/datasets/{dataset['id']}", headers=h(keys.read))).status_code == 200
    refused = await http.post("/examples/bulk", json=bulk, headers=h(keys.read))
    assert refused.status_code == 403


async def test_bad_input_gets_a_clear_error(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys
) -> None:
    dataset = await make_dataset(http, keys.admin, "ds", 1)
    key = h(keys.admin)

    async def status(method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        response = await http.request(method, path, headers=key, **kwargs)
        return response.status_code, response.json()["detail"]

    assert await status("POST", "/datasets", json={"name": "ds"}) == (
        409,
        "a dataset named 'ds' already exists",
    )
    code, detail = await status("POST", "/datasets", json={"name": " "})
    assert code == 400 and "name" in detail
    code, detail = await status(
        "POST", "/datasets", json={"name": "s", "inputs_schema_definition": {"type": 3}}
    )
    assert code == 400 and "not a valid JSON schema" in detail
    bad = [{"dataset_id": dataset["id"], "inputs": [1]}]
    code, detail = await status("POST", "/examples/bulk", json=bad)
    assert code == 400 and "inputs" in detail
    code, detail = await status("POST", "/examples/bulk", json=[{"dataset_id": "x", "inputs": {}}])
    assert code == 400 and "dataset_id must be a UUID" in detail
    params = {"dataset": dataset["id"], "as_of": "v9"}
    code, detail = await status("GET", "/examples", params=params)
    assert code == 400 and "versions 0 to 1" in detail
    code, detail = await status(
        "GET", "/examples", params={"dataset": dataset["id"], "filter": "x"}
    )
    assert code == 400 and "filter is not supported" in detail
    code, _ = await status("PATCH", f"/examples/{uuid.uuid4()}", json={"inputs": {"a": 1}})
    assert code == 404
    # Feedback on an experiment needs an experiment.
    session = await http.post("/sessions", json={"name": "plain"}, headers=key)
    body = {"key": "k", "score": 1, "session_id": session.json()["id"]}
    code, detail = await status("POST", "/feedback", json=body)
    assert code == 400 and "not an experiment" in detail
    code, detail = await status(
        "POST", "/sessions", json={"name": "e", "reference_dataset_id": str(uuid.uuid4())}
    )
    assert code == 404 and "dataset" in detail
    error = await gql.error(COMPARE, {"ids": [session.json()["id"]]})
    assert error["extensions"]["code"] == "BAD_REQUEST" and "not an experiment" in error["message"]
