"""The offline baseline (nearest neighbour, no LLM) as a job and in the calibration
report, checked against numbers worked out by hand on the built data set. No LLM is
configured here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.autofeedback.calibration import holdout_split
from app.domain.autofeedback.predictors import NearestNeighbour, PredictionFailed
from app.domain.autofeedback.targets import Example
from app.errors import BadRequest
from app.store.runs import Run
from tests.autofeedback.api import START, calibration, finished, model_submissions, start
from tests.autofeedback.dataset import LABELS, UNLABELLED, build, run_id
from tests.conftest import GraphQLClient

AT = datetime(2025, 1, 1, tzinfo=UTC)


async def test_a_nearest_neighbour_job_copies_the_closest_label(gql: GraphQLClient) -> None:
    ds = await build(gql)
    job = await start(gql, task=ds.task_id, limit=10, method="NEAREST_NEIGHBOUR")
    assert (job["method"], job["model"], job["reviewer"]) == (
        "NEAREST_NEIGHBOUR",
        "nearest-neighbour",
        "model:nearest-neighbour",
    )
    done = await finished(gql, job["id"])
    assert (done["status"], done["done"], done["failed"]) == ("DONE", 3, 0)
    for name in UNLABELLED:
        topic = name.split("-")[0]
        (submission,) = await model_submissions(gql, ds.task_id, ds.ids[name])
        info = submission["sourceInfo"]
        # The nearest labelled run is one of the same topic, and its label is copied.
        neighbour = ds.name_of(info["neighbour_run_id"])
        assert neighbour.startswith(topic)
        assert submission["values"] in [values for _, values in LABELS[neighbour]]
        assert info["method"] == "nearest_neighbour"
        assert 0 < info["similarity"] <= 1
        assert submission["reviewer"] == "model:nearest-neighbour"


async def test_nearest_neighbour_calibration_by_hand(gql: GraphQLClient) -> None:
    ds = await build(gql)
    report = await calibration(gql, task=ds.task_id, method="NEAREST_NEIGHBOUR", holdout=0.25)
    # 8 runs labelled by people; round(0.25 * 8) = 2 held out with seed 0.
    assert [ds.name_of(i) for i in report["heldOutRunIds"]] == ["refund-1", "invoice-1"]
    assert (report["labelledRuns"], report["exampleRuns"]) == (8, 6)
    assert (report["predicted"], report["failed"], report["failures"]) == (2, 0, [])
    assert (report["method"], report["model"], report["seed"]) == (
        "NEAREST_NEIGHBOUR",
        "nearest-neighbour",
        0,
    )
    # refund-1 is predicted by refund-2's label {Helpful: true, Score: 4, Tone: friendly};
    #   people said (ann) true/5/friendly and (bob) true/4/neutral.
    # invoice-1 is predicted by invoice-2's label {Helpful: false, Score: 2} (no Tone);
    #   people said (ann) true/4/neutral.
    # Helpful: true=true, true=true, false!=true       -> 2 of 3 agree
    # Score:   |4-5| + |4-4| + |2-4| = 3 over 3 pairs  -> mean absolute error 1.0
    # Tone:    friendly=friendly, friendly!=neutral    -> 1 of 2; invoice-1's is missing
    assert report["fields"] == [
        {
            "field": "Helpful",
            "measure": "EXACT",
            "runs": 2,
            "compared": 3,
            "missing": 0,
            "exactAgreement": pytest.approx(2 / 3),
            "meanAbsoluteError": None,
        },
        {
            "field": "Score",
            "measure": "NUMERIC",
            "runs": 2,
            "compared": 3,
            "missing": 0,
            "exactAgreement": None,
            "meanAbsoluteError": 1.0,
        },
        {
            "field": "Tone",
            "measure": "EXACT",
            "runs": 1,
            "compared": 2,
            "missing": 1,
            "exactAgreement": 0.5,
            "meanAbsoluteError": None,
        },
    ]


async def test_nearest_neighbour_calibration_of_a_key_by_hand(gql: GraphQLClient) -> None:
    ds = await build(gql)
    await gql.ok(
        'mutation { registerFeedbackKey(input: {key: "correct", kind: CONTINUOUS, '
        "min: 0, max: 1}) { key } }"
    )
    for name, score in (("refund-1", 1.0), ("refund-2", 0.8), ("password-1", 0.0)):
        await gql.ok(
            "mutation($r: ID!, $s: Score) { createFeedback(input: {runId: $r, key: "
            '"correct", score: $s, userId: "ann"}) { id } }',
            {"r": ds.ids[name], "s": score},
        )
    # password-2 twice: people disagree (0.2 and 0.4); an automatic label is no example.
    for user, score, source in (("ann", 0.2, "API"), ("bob", 0.4, "HUMAN"), ("m", 0.9, "MODEL")):
        await gql.ok(
            "mutation($r: ID!, $s: Score, $u: String, $src: SourceType!) { createFeedback("
            'input: {runId: $r, key: "correct", score: $s, userId: $u, sourceType: $src}) '
            "{ id } }",
            {"r": ds.ids["password-2"], "s": score, "u": user, "src": source},
        )
    report = await calibration(gql, key="correct", method="NEAREST_NEIGHBOUR", holdout=0.5)
    # Seed 0 holds out refund-1 and password-1 of the four runs.
    assert [ds.name_of(i) for i in report["heldOutRunIds"]] == ["refund-1", "password-1"]
    assert (report["labelledRuns"], report["exampleRuns"], report["key"]) == (4, 2, "correct")
    # refund-1 (1.0) gets refund-2's 0.8; password-1 (0.0) gets one of password-2's
    # labels, the newer: bob's 0.4. |0.8 - 1.0| + |0.4 - 0.0| = 0.6 over 2 pairs.
    (score,) = report["fields"]
    assert (score["field"], score["measure"], score["compared"], score["runs"]) == (
        "score",
        "NUMERIC",
        2,
        2,
    )
    assert score["meanAbsoluteError"] == pytest.approx(0.3)


async def test_calibration_and_jobs_refuse_what_they_cannot_do(gql: GraphQLClient) -> None:
    ds = await build(gql)
    error = await gql.error(
        "query($t: ID!) { autoFeedbackCalibration(taskId: $t, method: LLM) { predicted } }",
        {"t": ds.task_id},
    )
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "PLAUDIT_LLM_BASE_URL" in error["message"]
    error = await gql.error(START, {"task": ds.task_id, "limit": 5})
    assert "PLAUDIT_LLM_BASE_URL" in error["message"]

    for variables, message in (
        ({"limit": 0, "method": "NEAREST_NEIGHBOUR", "task": ds.task_id}, "limit must be"),
        (
            {"limit": 5, "method": "NEAREST_NEIGHBOUR", "task": ds.task_id, "examples": 0},
            "examples must be",
        ),
        ({"limit": 5, "method": "NEAREST_NEIGHBOUR"}, "give either taskId or key"),
        (
            {"limit": 5, "method": "NEAREST_NEIGHBOUR", "task": ds.task_id, "key": "x"},
            "give either taskId or key",
        ),
        (
            {
                "limit": 5,
                "method": "NEAREST_NEIGHBOUR",
                "task": ds.task_id,
                "filter": {"feedbackKey": "x"},
            },
            "runFilter",
        ),
        ({"limit": 5, "method": "NEAREST_NEIGHBOUR", "key": "nope"}, "is not registered"),
        ({"limit": 5, "method": "NEAREST_NEIGHBOUR", "task": "not-a-uuid"}, "taskId must be"),
    ):
        error = await gql.error(START, variables)
        assert message in error["message"], (variables, error)
        assert error["extensions"]["code"] in ("BAD_REQUEST", "NOT_FOUND")

    # Nothing to learn from yet.
    task = await gql.ok(
        'mutation { createFeedbackTask(name: "empty", schema: {type: "object"}) { id } }'
    )
    error = await gql.error(
        START, {"limit": 5, "method": "NEAREST_NEIGHBOUR", "task": task["createFeedbackTask"]["id"]}
    )
    assert "nothing to learn from yet" in error["message"]
    # A freeform key has no score to judge.
    await gql.ok('mutation { registerFeedbackKey(input: {key: "note", kind: FREEFORM}) { key } }')
    error = await gql.error(START, {"limit": 5, "method": "NEAREST_NEIGHBOUR", "key": "note"})
    assert "freeform" in error["message"]

    for holdout in (0, 1, 1.5):
        error = await gql.error(
            "query($t: ID!, $h: Float!) { autoFeedbackCalibration(taskId: $t, "
            "method: NEAREST_NEIGHBOUR, holdout: $h) { predicted } }",
            {"t": ds.task_id, "h": holdout},
        )
        assert "holdout must be a fraction" in error["message"]


def test_holdout_split_is_deterministic_and_bounded() -> None:
    runs = [run_id(f"r{i}") for i in range(10)]
    held, rest = holdout_split(runs, 0.3, 7)
    assert (len(held), len(rest)) == (3, 7)
    assert set(held) | set(rest) == set(runs) and not set(held) & set(rest)
    assert holdout_split(list(reversed(runs)), 0.3, 7) == (held, rest)  # order-free
    assert holdout_split(runs, 0.3, 8)[0] != held  # the seed matters
    assert len(holdout_split(runs, 0.01, 0)[0]) == 1  # at least one held out
    assert len(holdout_split(runs, 0.99, 0)[1]) == 1  # at least one example run left
    many = [run_id(f"m{i}") for i in range(300)]
    assert len(holdout_split(many, 0.5, 0)[0]) == 100  # at most 100 predicted
    with pytest.raises(BadRequest, match="at least 2 runs"):
        holdout_split(runs[:1], 0.5, 0)


def make_run(rid: str, inputs: Any, outputs: Any = None) -> Run:
    return Run(
        id=rid, project_id="p", name=None, inputs=inputs, outputs=outputs, tags=[],
        metadata=None, user_id=None, session_id=None, trace_id=None, parent_run_id=None,
        model=None, start_time=AT, end_time=None, latency_ms=None, prompt_tokens=None,
        completion_tokens=None, total_tokens=None, error=None, created_at=AT, updated_at=AT,
    )  # fmt: skip


def test_nearest_neighbour_with_nothing_in_common_takes_the_most_frequent_label() -> None:
    examples = [  # newest first
        Example(make_run("a", "apple pie"), {"ok": False}, "1", AT),
        Example(make_run("b", "banana split"), {"ok": True}, "2", AT),
        Example(make_run("c", "cherry tart"), {"ok": True}, "3", AT),
    ]
    nn = NearestNeighbour(examples)
    assert nn.predict_now(make_run("x", "apple crumble")).values == {"ok": False}
    fallback = nn.predict_now(make_run("y", "durian"))
    assert fallback.values == {"ok": True}
    assert fallback.source_info["fallback"] == "most_frequent_label"
    # A tie in frequency goes to the newest label.
    tie = NearestNeighbour(examples[:2]).predict_now(make_run("z", "durian"))
    assert tie.values == {"ok": False}
    # A run is never its own neighbour.
    with pytest.raises(PredictionFailed):
        NearestNeighbour(examples[:1]).predict_now(make_run("a", "apple pie"))
