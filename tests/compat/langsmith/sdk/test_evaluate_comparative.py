"""``evaluate_comparative`` from the real Python SDK, unchanged, over two experiments
made by ``evaluate()``: the comparative experiment, the pairwise scores become
preferences, and the win rate between the experiments, with its Wilson interval,
is read back through GraphQL; the DPO export takes the preferences."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langsmith import Client, evaluate
from langsmith.evaluation import evaluate_comparative
from langsmith.schemas import Example, Run

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.compat.langsmith.sdk.test_evaluate import RUNS, N, exact, make_dataset
from tests.conftest import Keys
from tests.node import run_node

PREFERENCES = """query($id: ID!) { preferences(first: 100, filter: {comparativeExperimentId: $id}) {
  nodes { key preferredRunId otherRunId preferredExperimentId otherExperimentId tied
          comparativeExperimentId }
} }"""
COMPARATIVE = """query($id: ID!) { comparativeExperiment(id: $id) {
  name experimentIds referenceDatasetId
  winRates { key experimentId otherExperimentId wins losses ties n winRate low high }
} }"""
WIN_RATES = """query($ids: [ID!]!, $confidence: Float!) {
  experimentWinRates(experimentIds: $ids, confidence: $confidence) {
    key experimentId otherExperimentId wins losses ties n winRate low high
  }
}"""
FEEDBACK = """query($runs: [ID!]) {
  feedback(first: 100, filter: {runIds: $runs, keys: ["correct"]}) { nodes { runId score } }
}"""


def right(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"sum": inputs["a"] + inputs["b"]}


def off_for_odd(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"sum": inputs["a"] + inputs["b"] + inputs["a"] % 2}


def correct(runs: list[Run], example: Example) -> dict[str, Any]:
    """1 to each run whose sum is right, else 0: on odd inputs the first experiment
    wins, on even ones both are right (a tie, both good)."""
    assert example.outputs is not None
    expected = example.outputs["sum"]
    return {
        "key": "correct",
        "scores": {run.id: int((run.outputs or {}).get("sum") == expected) for run in runs},
    }


def two_experiments(client: Client) -> tuple[str, str]:
    make_dataset(client)
    names = []
    for target, prefix in ((right, "right"), (off_for_odd, "odd")):
        result = evaluate(
            target,
            data="sums",
            evaluators=[exact],
            experiment_prefix=prefix,
            client=client,
            max_concurrency=0,
        )
        names.append(result.experiment_name)
    return names[0], names[1]


def wait_for_preferences(live: LiveServer, key: str, comparative_id: str, n: int) -> list[dict]:
    """The SDK sends each run's score from a thread pool: wait for every pair."""
    deadline = time.monotonic() + 60
    while True:
        found = live.graphql(key, PREFERENCES, {"id": comparative_id})["preferences"]["nodes"]
        if len(found) >= n or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.05)


def test_evaluate_comparative_makes_preferences_and_win_rates(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    first_name, second_name = two_experiments(client)
    first = client.read_project(project_name=first_name)
    second = client.read_project(project_name=second_name)

    results = evaluate_comparative(
        (first_name, second_name), evaluators=[correct], client=client, max_concurrency=4
    )
    comparative = results.comparative_experiment
    assert (
        comparative is not None and comparative.reference_dataset_id == first.reference_dataset_id
    )
    assert len(list(results)) == N
    comparative_id = str(comparative.id)

    preferences = wait_for_preferences(live, keys.read, comparative_id, N)
    assert len(preferences) == N
    right_id, odd_id = str(first.id), str(second.id)
    wins = [p for p in preferences if p["tied"] is None]
    ties = [p for p in preferences if p["tied"] is not None]
    assert len(wins) == N // 2 and {p["tied"] for p in ties} == {"GOOD"}
    assert {(p["preferredExperimentId"], p["otherExperimentId"]) for p in wins} == {
        (right_id, odd_id)
    }
    assert {p["key"] for p in preferences} == {"correct"}
    assert {p["comparativeExperimentId"] for p in preferences} == {comparative_id}
    # One preference per example: each pairs a run of each experiment.
    runs = live.graphql(keys.read, RUNS, {"id": right_id})["runs"]["nodes"]
    right_runs = {r["id"] for r in runs if r["referenceExampleId"]}
    paired = {p["preferredRunId"] for p in preferences} | {p["otherRunId"] for p in preferences}
    assert right_runs <= paired and len(paired) == 2 * N

    # The scores are still feedback too, read back with their comparative experiment.
    feedback = live.graphql(keys.read, FEEDBACK, {"runs": sorted(right_runs)})["feedback"]
    assert sorted(f["score"] for f in feedback["nodes"]) == [1.0] * N
    [one] = client.list_feedback(run_ids=[next(iter(right_runs))], feedback_key=["correct"])
    assert one.comparative_experiment_id == comparative.id and one.feedback_group_id

    # 10 wins and 10 ties of 20: (10 + 10/2) / 20, Wilson 95%: 0.5313 to 0.8881.
    read = live.graphql(keys.read, COMPARATIVE, {"id": comparative_id})["comparativeExperiment"]
    assert read["experimentIds"] == [right_id, odd_id]
    assert read["referenceDatasetId"] == str(first.reference_dataset_id)
    [rate] = read["winRates"]
    assert (rate["key"], rate["experimentId"], rate["otherExperimentId"]) == (
        "correct",
        right_id,
        odd_id,
    )
    assert (rate["wins"], rate["losses"], rate["ties"], rate["n"]) == (N // 2, 0, N // 2, N)
    assert rate["winRate"] == 0.75
    assert rate["low"] == pytest.approx(0.5313, abs=1e-4)
    assert rate["high"] == pytest.approx(0.8881, abs=1e-4)

    # The other way round, at 90%: 0.25, Wilson 0.1274 to 0.4322.
    ids = [odd_id, right_id]
    [back] = live.graphql(keys.read, WIN_RATES, {"ids": ids, "confidence": 0.9})[
        "experimentWinRates"
    ]
    assert (back["wins"], back["losses"], back["ties"]) == (0, N // 2, N // 2)
    assert back["winRate"] == 0.25
    assert back["low"] == pytest.approx(0.1274, abs=1e-4)
    assert back["high"] == pytest.approx(0.4322, abs=1e-4)

    # The DPO export takes the real preferences (not the ties): the right sum chosen.
    response = httpx.get(
        f"{live.url}/export/dpo",
        params={"key": "correct", "sources": "preferences"},
        headers={"Authorization": f"Bearer {keys.read}"},
    )
    assert response.status_code == 200, response.text
    lines = [httpx.Response(200, content=line).json() for line in response.text.splitlines()]
    assert len(lines) == N // 2
    for line in lines:
        assert line["chosen"] != line["rejected"]


def post(live: LiveServer, key: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{live.url}{path}", json=body, headers={"x-api-key": key})


def test_comparative_experiments_refuse_what_they_cannot_compare(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    first_name, second_name = two_experiments(client)
    first = client.read_project(project_name=first_name)
    second = client.read_project(project_name=second_name)
    plain = client.create_project("not-an-experiment")
    body = {"name": "c", "experiment_ids": [str(first.id)]}

    one = post(live, keys.ingest, "/datasets/comparative", body)
    assert one.status_code == 400 and "2 to 10" in one.json()["message"]
    body["experiment_ids"] = [str(first.id), str(plain.id)]
    not_experiment = post(live, keys.ingest, "/datasets/comparative", body)
    assert not_experiment.status_code == 400
    assert "not an experiment" in not_experiment.json()["message"]
    body["experiment_ids"] = [str(first.id), str(uuid.uuid4())]
    assert post(live, keys.ingest, "/datasets/comparative", body).status_code == 404
    body["experiment_ids"] = [str(first.id), str(second.id)]
    body["reference_dataset_id"] = str(uuid.uuid4())
    wrong_dataset = post(live, keys.ingest, "/datasets/comparative", body)
    assert wrong_dataset.status_code == 400
    assert wrong_dataset.json()["field"] == "reference_dataset_id"

    comparative = client.create_comparative_experiment(
        "right vs odd", [first.id, second.id], metadata={"note": "x"}
    )
    assert comparative.extra == {"metadata": {"note": "x"}}
    again = post(
        live,
        keys.ingest,
        "/datasets/comparative",
        {"id": str(comparative.id), "name": "again", "experiment_ids": body["experiment_ids"]},
    )
    assert again.status_code == 409

    # A pairwise score on a run outside the compared experiments is refused, and kept nowhere.
    outsider = uuid.uuid4()
    client.create_run("outside", inputs={}, run_type="chain", id=outsider, project_name=plain.name)
    refused = post(
        live,
        keys.ingest,
        "/feedback",
        {
            "run_id": str(outsider),
            "key": "correct",
            "score": 1,
            "comparative_experiment_id": str(comparative.id),
            "feedback_group_id": str(uuid.uuid4()),
        },
    )
    assert refused.status_code == 400 and refused.json()["field"] == "run_id"
    assert list(client.list_feedback(run_ids=[outsider])) == []


def test_js_create_comparative_experiment(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    dataset = client.create_dataset("pair")
    ids = [
        str(client.create_project(name, reference_dataset_id=dataset.id).id)
        for name in ("js-a", "js-b")
    ]
    env = {"LANGSMITH_ENDPOINT": live.url, "LANGSMITH_API_KEY": keys.admin}
    created = run_node("langsmith/comparative.mjs", *ids, env=env)["created"]
    assert created["reference_dataset_id"] == str(dataset.id)
    assert created["extra"] == {"metadata": {"from": "js"}}
    read = live.graphql(keys.read, COMPARATIVE, {"id": created["id"]})["comparativeExperiment"]
    assert (read["name"], read["experimentIds"], read["winRates"]) == ("js pair", ids, [])
    unknown = live.graphql(keys.read, COMPARATIVE, {"id": str(uuid.uuid4())})
    assert unknown["comparativeExperiment"] is None
