"""taskAgreement on a hand-computed example."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import GraphQLClient
from tests.task_helpers import create_task, ingest, submit

AGREEMENT = """
query($task: ID!) {
  taskAgreement(taskId: $task) {
    taskId runsCompared
    fields { field measure runs pairs exactAgreement meanAbsoluteDifference }
  }
}"""


async def test_agreement_numbers(gql: GraphQLClient) -> None:
    task = await create_task(gql)
    r1, r2, r3 = await ingest(gql, {}, {}, {})
    # r1: three reviewers.
    await submit(
        gql, task["id"], r1, {"Coherence": 5, "Faithful": True, "Issue": "none"}, user="ann"
    )
    await submit(
        gql, task["id"], r1, {"Coherence": 7, "Faithful": True, "Issue": "none"}, user="bob"
    )
    await submit(
        gql, task["id"], r1, {"Coherence": 4, "Faithful": False, "Issue": "omission"}, user="cy"
    )
    # r2: two reviewers; only ann answered Issue.
    await submit(
        gql,
        task["id"],
        r2,
        {"Coherence": 2, "Faithful": False, "Issue": "hallucination", "Notes": "bad"},
        user="ann",
    )
    await submit(gql, task["id"], r2, {"Coherence": 2, "Faithful": False}, user="bob")
    # r3: one reviewer, so not compared.
    await submit(gql, task["id"], r3, {"Coherence": 1, "Faithful": True}, user="ann")

    data = await gql.ok(AGREEMENT, {"task": task["id"]})
    agreement = data["taskAgreement"]
    assert agreement["taskId"] == task["id"]
    assert agreement["runsCompared"] == 2
    fields = {f["field"]: f for f in agreement["fields"]}
    # Notes is free text: not measured.
    assert list(fields) == ["Coherence", "Faithful", "Issue"]
    # Coherence pairs: r1 |5-7|=2, |5-4|=1, |7-4|=3; r2 |2-2|=0 -> 6 / 4 pairs.
    assert fields["Coherence"] == {
        "field": "Coherence",
        "measure": "NUMERIC",
        "runs": 2,
        "pairs": 4,
        "exactAgreement": None,
        "meanAbsoluteDifference": 1.5,
    }
    # Faithful pairs: r1 (T,T) yes, (T,F) no, (T,F) no; r2 (F,F) yes -> 2 / 4.
    assert fields["Faithful"]["measure"] == "EXACT"
    assert (fields["Faithful"]["runs"], fields["Faithful"]["pairs"]) == (2, 4)
    assert fields["Faithful"]["exactAgreement"] == 0.5
    assert fields["Faithful"]["meanAbsoluteDifference"] is None
    # Issue pairs: r1 (none,none) yes, (none,omission) no twice; r2 has one answer.
    assert (fields["Issue"]["runs"], fields["Issue"]["pairs"]) == (1, 3)
    assert fields["Issue"]["exactAgreement"] == pytest.approx(1 / 3)


async def test_agreement_without_overlap_and_unknown_task(gql: GraphQLClient) -> None:
    task = await create_task(gql)
    (run,) = await ingest(gql, {})
    await submit(gql, task["id"], run, {"Coherence": 3, "Faithful": True}, user="ann")
    data = await gql.ok(AGREEMENT, {"task": task["id"]})
    assert data["taskAgreement"]["runsCompared"] == 0
    assert all(
        f["pairs"] == 0 and f["exactAgreement"] is None for f in data["taskAgreement"]["fields"]
    )
    error = await gql.error(AGREEMENT, {"task": str(uuid.uuid4())})
    assert error["extensions"]["code"] == "NOT_FOUND"
