"""``evaluate`` from the npm `langsmith` package (run by Node.js) against a live
Plaudit: the experiment, its runs and their scores read back through GraphQL."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from langsmith import Client

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.compat.langsmith.sdk.test_js_client import js_env
from tests.conftest import Keys
from tests.node import run_node

N = 20
DATASET = """query($name: String!) { dataset(name: $name) { experiments { id name } } }"""
COMPARE = """query($ids: [ID!]!) { experimentComparison(experimentIds: $ids) {
  experiments { runCount keys { key n mean passRate } }
  examples { example { inputs } cells { run { outputs } } }
} }"""


@pytest.mark.parametrize("auto_batch", [False, True], ids=["runs-as-they-end", "batched-runs"])
def test_js_evaluate_uploads_an_experiment(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys, auto_batch: bool
) -> None:
    """With batched runs (the SDK's default) the evaluators' feedback usually
    arrives before its run: it must wait pending, not be lost or refused."""
    name = f"js-sums-{'batched' if auto_batch else 'direct'}"
    client = make_client()
    dataset = client.create_dataset(name)
    client.create_examples(
        dataset_id=dataset.id,
        examples=[
            {"inputs": {"a": i, "b": 2}, "reference_outputs": {"sum": i + 2}} for i in range(N)
        ],
    )
    env = js_env(live, keys.admin) | {"AUTO_BATCH": "1" if auto_batch else "0"}
    result = run_node("langsmith/evaluate.mjs", name, env=env)
    assert result["rows"] == N
    experiments = live.graphql(keys.read, DATASET, {"name": name})["dataset"]["experiments"]
    assert [e["name"] for e in experiments] == [result["experimentName"]]
    ids = [experiments[0]["id"]]
    # Feedback may still be on its way after the script's last trace batch.
    deadline = time.monotonic() + 120
    while True:
        compared = live.graphql(keys.read, COMPARE, {"ids": ids})["experimentComparison"]
        keys_seen = {k["key"]: k for k in compared["experiments"][0]["keys"]}
        done = compared["experiments"][0]["runCount"] == N and all(
            keys_seen.get(k, {}).get("n") == N for k in ("exact", "closeness")
        )
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert compared["experiments"][0]["runCount"] == N
    wrong = sum(1 for i in range(N) if i % 3 == 0)  # the target adds 1 for these
    assert keys_seen["exact"]["n"] == N
    assert keys_seen["exact"]["mean"] == (N - wrong) / N
    assert keys_seen["closeness"]["passRate"] == 1.0
    for row in compared["examples"]:
        a = row["example"]["inputs"]["a"]
        assert row["cells"][0]["run"]["outputs"] == {"sum": a + 2 + (1 if a % 3 == 0 else 0)}
