"""``evaluate()`` from the real Python SDK, unchanged, against Plaudit: a target run
over a 20-example dataset with two evaluators and a summary evaluator; the
experiment, its runs (each pointing to its example), the scores (feedback) and the
summary are read back through GraphQL, and two experiments are compared."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from langsmith import Client, aevaluate, evaluate

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

N = 20
EXPERIMENT = """query($id: ID!) { tracingProject(id: $id) {
  name referenceDatasetId summaryScores extra
} }"""
RUNS = """query($id: ID!) { runs(first: 100, filter: {tracingProjectId: $id}) {
  nodes { id inputs outputs referenceExampleId parentRunId }
} }"""
DATASET = """query($name: String!) { dataset(name: $name) {
  id version exampleCount experiments { id name }
  examples(first: 100) { nodes { id inputs outputs } }
} }"""
COMPARE = """query($ids: [ID!]!) { experimentComparison(experimentIds: $ids) {
  experiments { experiment { name } runCount keys { key n mean p50 passRate } }
  examples { exampleId disagreement example { inputs }
             cells { experimentId run { outputs } scores { key score } } }
} }"""
FEEDBACK_COUNT = """query($runs: [ID!]) { feedback(first: 100, filter: {runIds: $runs}) {
  nodes { key score sourceType runId }
} }"""


def make_dataset(client: Client) -> None:
    dataset = client.create_dataset("sums")
    client.create_examples(
        dataset_id=dataset.id,
        examples=[
            {"inputs": {"a": i, "b": 1}, "reference_outputs": {"sum": i + 1}} for i in range(N)
        ],
    )


def exact(outputs: dict[str, Any], reference_outputs: dict[str, Any]) -> bool:
    return bool(outputs["sum"] == reference_outputs["sum"])


def closeness(outputs: dict[str, Any], reference_outputs: dict[str, Any]) -> dict[str, Any]:
    return {"key": "closeness", "score": 1 / (1 + abs(outputs["sum"] - reference_outputs["sum"]))}


def share_exact(outputs: list[dict[str, Any]], reference_outputs: list[dict[str, Any]]) -> dict:
    hits = sum(o["sum"] == r["sum"] for o, r in zip(outputs, reference_outputs, strict=True))
    return {"key": "share_exact", "score": hits / len(outputs)}


def wait_for_feedback(live: LiveServer, key: str, run_ids: list[str], n: int) -> list[dict]:
    """The SDK submits evaluator feedback from a thread pool: wait for all of it."""
    deadline = time.monotonic() + 60
    while True:
        nodes = live.graphql(key, FEEDBACK_COUNT, {"runs": run_ids})["feedback"]["nodes"]
        if len(nodes) >= n or time.monotonic() > deadline:
            return list(nodes)
        time.sleep(0.05)


# The SDK itself passes a summary result's ``metadata`` to create_feedback, which
# warns about it: an error under this suite's filterwarnings, in the SDK's thread.
@pytest.mark.filterwarnings(
    "ignore:The following arguments are no longer used in the create_feedback endpoint"
)
def test_evaluate_uploads_an_experiment(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    make_dataset(client)

    def right(inputs: dict[str, Any]) -> dict[str, Any]:
        return {"sum": inputs["a"] + inputs["b"]}

    def off_for_odd(inputs: dict[str, Any]) -> dict[str, Any]:
        return {"sum": inputs["a"] + inputs["b"] + inputs["a"] % 2}

    first = evaluate(
        right,
        data="sums",
        evaluators=[exact, closeness],
        summary_evaluators=[share_exact],
        experiment_prefix="right",
        client=client,
        max_concurrency=0,
    )
    second = evaluate(
        off_for_odd,
        data="sums",
        evaluators=[exact, closeness],
        experiment_prefix="odd",
        client=client,
        max_concurrency=0,
    )
    assert len(list(first)) == N and len(list(second)) == N

    dataset = live.graphql(keys.read, DATASET, {"name": "sums"})["dataset"]
    assert dataset["exampleCount"] == N and dataset["version"] == 1
    examples = {e["id"]: e for e in dataset["examples"]["nodes"]}
    names = {e["name"]: e["id"] for e in dataset["experiments"]}
    assert set(names) == {first.experiment_name, second.experiment_name}

    listed = {p.name for p in client.list_projects(reference_dataset_name="sums")}
    assert listed == set(names)
    assert not listed & {p.name for p in client.list_projects(reference_free=True)}
    experiment_id = names[first.experiment_name]
    experiment = live.graphql(keys.read, EXPERIMENT, {"id": experiment_id})["tracingProject"]
    assert experiment["referenceDatasetId"] == dataset["id"]
    assert experiment["summaryScores"]["share_exact"]["score"] == 1.0
    # evaluate() ends by writing the dataset version into the experiment's metadata.
    assert "dataset_version" in experiment["extra"]["metadata"]

    runs = live.graphql(keys.read, RUNS, {"id": experiment_id})["runs"]["nodes"]
    roots = [r for r in runs if r["referenceExampleId"]]
    assert len(roots) == N
    for run in roots:
        example = examples[run["referenceExampleId"]]
        assert run["inputs"] == example["inputs"]
        assert run["outputs"] == {"sum": example["outputs"]["sum"]}
    feedback = wait_for_feedback(live, keys.read, [r["id"] for r in roots], 2 * N)
    assert len(feedback) == 2 * N
    assert {f["sourceType"] for f in feedback} == {"MODEL"}
    assert {(f["key"], f["score"]) for f in feedback} == {("exact", 1.0), ("closeness", 1.0)}

    second_id = names[second.experiment_name]
    second_runs = live.graphql(keys.read, RUNS, {"id": second_id})["runs"]["nodes"]
    wait_for_feedback(
        live, keys.read, [r["id"] for r in second_runs if r["referenceExampleId"]], 2 * N
    )
    compared = live.graphql(keys.read, COMPARE, {"ids": [experiment_id, second_id]})
    summary = compared["experimentComparison"]
    by_key = {k["key"]: k for k in summary["experiments"][1]["keys"]}
    assert summary["experiments"][0]["runCount"] == N
    assert by_key["exact"] == {"key": "exact", "n": N, "mean": 0.5, "p50": 0.5, "passRate": 0.5}
    assert by_key["closeness"]["mean"] == 0.75 and by_key["closeness"]["passRate"] == 1.0
    rows = summary["examples"]
    assert len(rows) == N
    # The odd inputs (where the second experiment is wrong) come first.
    assert [r["example"]["inputs"]["a"] % 2 for r in rows[: N // 2]] == [1] * (N // 2)
    assert all(r["disagreement"] == 1.0 for r in rows[: N // 2])
    assert all(r["disagreement"] == 0.0 for r in rows[N // 2 :])
    odd = rows[0]
    a = odd["example"]["inputs"]["a"]
    assert [c["run"]["outputs"]["sum"] for c in odd["cells"]] == [a + 1, a + 2]


def test_aevaluate_uploads_an_experiment(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    make_dataset(client)

    async def target(inputs: dict[str, Any]) -> dict[str, Any]:
        return {"sum": inputs["a"] + inputs["b"]}

    async def run() -> Any:
        return await aevaluate(
            target,
            data="sums",
            evaluators=[exact],
            experiment_prefix="async",
            client=client,
            max_concurrency=2,
        )

    results = asyncio.run(run())
    experiment_id = live.graphql(keys.read, DATASET, {"name": "sums"})["dataset"]["experiments"][0][
        "id"
    ]
    runs = live.graphql(keys.read, RUNS, {"id": experiment_id})["runs"]["nodes"]
    roots = [r["id"] for r in runs if r["referenceExampleId"]]
    assert len(roots) == N and results.experiment_name
    feedback = wait_for_feedback(live, keys.read, roots, N)
    assert {(f["key"], f["score"]) for f in feedback} == {("exact", 1.0)} and len(feedback) == N
