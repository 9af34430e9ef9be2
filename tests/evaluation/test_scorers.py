"""Each kind of scorer, end to end: rules created through GraphQL, runs ingested,
the process's worker scoring them, the scores read back as feedback."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.domain.webhooks.signing import verify
from app.settings import Settings
from tests.autofeedback.dataset import TASK_NAME, UNLABELLED, build, topic_label
from tests.autofeedback.fake_llm import FakeLLM, Reply
from tests.conftest import GraphQLClient
from tests.evaluation.api import (
    check_rule,
    create_rule,
    get_rule,
    ingest,
    rule_feedback,
    run,
    settled,
)
from tests.evaluation.receiver import Receiver

MODEL = "judge-1"


@pytest.fixture
def settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    return replace(
        settings,
        llm_base_url=fake_llm.url,
        llm_model=MODEL,
        llm_max_retries=0,
        webhook_allow_private_networks=True,
    )


async def test_checks_score_the_runs_their_filters_select(gql: GraphQLClient) -> None:
    schema = {"type": "object", "required": ["answer"]}
    json_rule = (
        await create_rule(
            gql,
            check_rule(
                "answers are JSON",
                "answer_json",
                {"type": "JSON_SCHEMA", "jsonSchema": schema},
                filter={"tags": ["prod"], "rootOnly": True},
            ),
        )
    )["rule"]
    fast_rule = (
        await create_rule(
            gql,
            check_rule(
                "fast enough",
                "fast",
                {"type": "LATENCY", "maxLatencyMs": 1000},
                filter={
                    "name": "chat",
                    "runType": "llm",
                    "metadata": [{"field": "customer.plan", "value": "pro"}],
                },
            ),
        )
    )["rule"]
    assert json_rule["key"] == "answer_json" and json_rule["status"] == "ACTIVE"
    assert json_rule["filter"]["tags"] == ["prod"] and json_rule["filter"]["rootOnly"]
    # A check's key is registered as boolean.
    keys = await gql.ok('{ feedbackKey(key: "answer_json") { kind } }')
    assert keys["feedbackKey"] == {"kind": "BOOLEAN"}

    start = "2025-05-01T10:00:00Z"
    pro = {"customer": {"plan": "pro"}, "ls_run_type": "llm"}
    runs = {
        "good": run(tags=["prod"], outputs='{"answer": "4"}'),
        "bad": run(tags=["prod"], outputs='{"reply": "4"}'),
        "child": run(tags=["prod"], outputs="{}", parentRunId=run()["id"]),
        "untagged": run(outputs='{"answer": "4"}'),
        "unfinished": {"id": run()["id"], "tags": ["prod"]},
        "quick": run(name="chat", metadata=pro, startTime=start, endTime="2025-05-01T10:00:00.5Z"),
        "slow": run(name="chat", metadata=pro, startTime=start, endTime="2025-05-01T10:00:03Z"),
        "free plan": run(
            name="chat", metadata={**pro, "customer": {"plan": "free"}}, endTime=start
        ),
        "no latency": run(name="chat", metadata=pro),
    }
    ids = dict(zip(runs, await ingest(gql, list(runs.values())), strict=True))
    json_counts = await settled(gql, json_rule["id"], 2)
    assert json_counts == {
        "sampled": 2,
        "evaluated": 2,
        "skippedBudget": 0,
        "skippedOther": 0,
        "failed": 0,
        "pending": 0,
    }
    fast_counts = await settled(gql, fast_rule["id"], 3)
    # The run with no end time has no latency: the check does not apply to it.
    assert (fast_counts["evaluated"], fast_counts["skippedOther"]) == (2, 1)

    def scores(feedback: list[dict[str, Any]]) -> dict[str, Any]:
        return {f["key"]: f["score"] for f in feedback}

    assert scores(await rule_feedback(gql, ids["good"])) == {"answer_json": True}
    (bad,) = await rule_feedback(gql, ids["bad"])
    assert bad["score"] is False and "'answer' is a required property" in bad["value"]["error"]
    assert scores(await rule_feedback(gql, ids["quick"])) == {"fast": True}
    (slow,) = await rule_feedback(gql, ids["slow"])
    assert (slow["score"], slow["value"]) == (False, {"latency_ms": 3000.0})
    for name in ("child", "untagged", "unfinished", "free plan", "no latency"):
        assert await rule_feedback(gql, ids[name]) == [], name

    # Feedback of source MODEL by user rule:<id>, naming rule, version, scorer, model.
    assert bad["sourceType"] == "MODEL"
    assert bad["userId"] == f"rule:{json_rule['id']}"
    info = bad["sourceInfo"]
    assert (info["rule_id"], info["rule_name"], info["rule_version"]) == (
        json_rule["id"],
        "answers are JSON",
        1,
    )
    assert (info["scorer"], info["model"]) == ("check:json_schema", None)

    # Completing the unfinished run later queues it then.
    await ingest(gql, [{"id": ids["unfinished"], "outputs": '{"answer": 1}'}])
    await settled(gql, json_rule["id"], 3)
    assert scores(await rule_feedback(gql, ids["unfinished"])) == {"answer_json": True}


async def test_an_llm_judge_on_a_key(gql: GraphQLClient, fake_llm: FakeLLM) -> None:
    await gql.ok(
        'mutation { registerFeedbackKey(input: {key: "correct", kind: CONTINUOUS, min: 0, '
        "max: 1}) { key } }"
    )
    await gql.ok('mutation { setKeyJudge(key: "correct", instructions: "1 if right") { key } }')
    fake_llm.responder = lambda body: Reply.label(
        {"score": 1 if "4" in fake_llm.last_user_message(body) else 0}
    )
    rule = (
        await create_rule(
            gql,
            {
                "name": "correctness",
                "key": "correct",
                "samplingRate": 1,
                "scorer": {"kind": "LLM"},
            },
        )
    )["rule"]
    assert rule["scorer"]["kind"] == "LLM"
    right, wrong = await ingest(gql, [run(outputs="4"), run(outputs="5")])
    await settled(gql, rule["id"], 2)
    (record,) = await rule_feedback(gql, right)
    assert (record["key"], record["score"], record["sourceType"]) == ("correct", 1, "MODEL")
    assert record["sourceInfo"]["model"] == MODEL
    assert record["sourceInfo"]["scorer"] == "llm"
    assert record["sourceInfo"]["rule_version"] == 1
    assert [f["score"] for f in await rule_feedback(gql, wrong)] == [0]
    assert "1 if right" in fake_llm.requests[0]["messages"][0]["content"]
    # The fake endpoint reports 2 tokens a call.
    data = await gql.ok("query($id: ID!) { evaluationRule(id: $id) { tokensToday } }", rule)
    assert data["evaluationRule"]["tokensToday"] == 4


async def test_auto_feedback_icl_and_the_baseline_on_a_task(
    gql: GraphQLClient, fake_llm: FakeLLM
) -> None:
    ds = await build(gql)
    fake_llm.responder = lambda body: Reply.label(topic_label(fake_llm.last_user_message(body)))
    icl = (
        await create_rule(
            gql,
            {
                "name": "icl",
                "samplingRate": 1,
                "scorer": {"kind": "LLM", "taskId": ds.task_id, "field": "Score", "examples": 2},
            },
        )
    )["rule"]
    baseline = (
        await create_rule(
            gql,
            {
                "name": "baseline",
                "samplingRate": 1,
                "scorer": {"kind": "NEAREST_NEIGHBOUR", "taskId": ds.task_id},
            },
        )
    )["rule"]
    # The task's tag selector is part of the filter; the key is <task>.<field>.
    assert icl["key"] == f"{TASK_NAME}.Score" and icl["filter"]["tags"] == ["support"]
    assert baseline["scorer"]["field"] == "Helpful" and baseline["key"] == f"{TASK_NAME}.Helpful"
    # Backfill the runs that were there before the rules.
    for rule in (icl, baseline):
        data = await gql.ok(
            "mutation($id: ID!) { backfillEvaluationRule(id: $id, "
            'after: "2020-01-01T00:00:00Z") { scanned queued } }',
            rule,
        )
        assert data["backfillEvaluationRule"] == {"scanned": 11, "queued": 11}
    await settled(gql, icl["id"], 11)
    await settled(gql, baseline["id"], 11)
    refund = ds.ids[UNLABELLED[0]]
    # Each rule's label is a task submission; its metrics are feedback by the rule.
    by_rule = {(f["userId"], f["key"]): f for f in await rule_feedback(gql, refund)}
    icl_score = by_rule[(f"rule:{icl['id']}", f"{TASK_NAME}.Score")]
    assert icl_score["score"] == 5
    assert icl_score["sourceInfo"]["prompt_version"] and icl_score["sourceInfo"]["model"] == MODEL
    # The baseline's label: its nearest labelled run's (a refund one: helpful).
    nn = by_rule[(f"rule:{baseline['id']}", f"{TASK_NAME}.Helpful")]
    assert (nn["score"], nn["sourceInfo"]["model"]) == (True, "nearest-neighbour")
    assert nn["sourceInfo"]["scorer"] == "nearest_neighbour"
    assert len(fake_llm.requests) == 11


async def test_the_http_evaluator(gql: GraphQLClient, receiver: Receiver) -> None:
    def answer(body: dict[str, Any]) -> tuple[int, Any]:
        text = body["run"]["outputs"]["answer"]
        answer = {"score": len(text) / 10, "value": {"chars": len(text)}, "comment": "ok"}
        return 200, {**answer, "model": "grader-7"}

    receiver.responder = answer
    saved = await create_rule(
        gql,
        {
            "name": "external",
            "key": "external",
            "samplingRate": 1,
            "scorer": {"kind": "HTTP", "url": receiver.url},
        },
    )
    secret = saved["secret"]
    assert secret.startswith("whsec_")
    assert saved["rule"]["scorer"]["secretPrefix"] == secret[:6]
    (run_id,) = await ingest(gql, [run(outputs={"answer": "four"}, name="n")])
    await settled(gql, saved["rule"]["id"], 1)
    (record,) = await rule_feedback(gql, run_id)
    assert (record["score"], record["value"], record["comment"], record["sourceType"]) == (
        0.4,
        {"chars": 4},
        "ok",
        "API",
    )
    assert record["sourceInfo"]["model"] == "grader-7"
    assert record["sourceInfo"]["scorer"] == "http"
    (request,) = receiver.received
    assert verify(secret, request.headers["plaudit-signature"], request.body)
    assert request.headers["plaudit-event"] == "evaluation.request"
    assert request.headers["plaudit-delivery"] == record["sourceInfo"]["evaluation_id"]
    body = request.json
    assert body["rule"] == {
        "id": saved["rule"]["id"],
        "name": "external",
        "version": 1,
        "key": "external",
    }
    assert (body["run"]["id"], body["run"]["name"]) == (run_id, "n")

    # Editing keeps the secret when none is given; a given one replaces it.
    edited = await gql.ok(
        "mutation($id: ID!, $input: EvaluationRuleInput!) { updateEvaluationRule(id: $id, "
        "input: $input) { secret rule { version scorer { secretPrefix } } } }",
        {
            "id": saved["rule"]["id"],
            "input": {
                "name": "external",
                "key": "external",
                "samplingRate": 0.5,
                "scorer": {"kind": "HTTP", "url": receiver.url},
            },
        },
    )
    assert edited["updateEvaluationRule"]["secret"] is None
    assert edited["updateEvaluationRule"]["rule"]["version"] == 2
    assert edited["updateEvaluationRule"]["rule"]["scorer"]["secretPrefix"] == secret[:6]


async def test_an_http_evaluator_answering_badly_fails_with_the_error(
    gql: GraphQLClient, receiver: Receiver
) -> None:
    receiver.responder = lambda body: (200, {"verdict": "good"})
    rule = (
        await create_rule(
            gql,
            {
                "name": "external",
                "key": "external",
                "samplingRate": 1,
                "scorer": {"kind": "HTTP", "url": receiver.url},
                "limits": {"maxAttempts": 2},
            },
        )
    )["rule"]
    (run_id,) = await ingest(gql, [run()])
    final = await settled(gql, rule["id"], 1)
    assert final["failed"] == 1
    (failure,) = (await get_rule(gql, rule["id"]))["failures"]
    assert failure == {
        "runId": run_id,
        "error": 'the evaluator\'s answer has no "score"',
        "attempts": 2,
        "version": 1,
    }
    assert len(receiver.received) == 2
