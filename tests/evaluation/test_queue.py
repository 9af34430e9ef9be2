"""The evaluation queue at work: retries then failure, budgets, calls per minute,
concurrency across processes, pausing, editing, deleting, and a process killed
mid-queue (two app instances and an abandoned lease): nothing lost, nothing scored
twice."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app import clock
from app.domain.evaluation.worker import EvaluationWorker
from app.domain.feedback import Change, FeedbackWrite, create_feedback
from app.main import create_app
from app.settings import Settings
from tests.autofeedback.fake_llm import FakeLLM, Reply
from tests.autofeedback.waiting import eventually
from tests.conftest import GraphQLClient, Keys, services
from tests.evaluation.api import (
    BACKFILL,
    DELETE,
    PAUSE,
    RESUME,
    UPDATE,
    check_rule,
    counts,
    create_rule,
    get_rule,
    ingest,
    rule_feedback,
    run,
    settled,
)


@pytest.fixture
def settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    # One request per attempt: the queue's retries are what is tested.
    return replace(settings, llm_base_url=fake_llm.url, llm_model="judge-1", llm_max_retries=0)


async def judge_rule(gql: GraphQLClient, **extra: Any) -> dict[str, Any]:
    """An LLM judge of a boolean key "polite", working from instructions alone."""
    await gql.ok('mutation { registerFeedbackKey(input: {key: "polite", kind: BOOLEAN}) { key } }')
    await gql.ok('mutation { setKeyJudge(key: "polite", instructions: "true if polite") { key } }')
    rule = {"name": "politeness", "key": "polite", "samplingRate": 1, "scorer": {"kind": "LLM"}}
    return (await create_rule(gql, {**rule, **extra}))["rule"]


def polite(fake: FakeLLM) -> None:
    fake.responder = lambda body: Reply.label({"score": True})


async def step_taken(worker: EvaluationWorker) -> None:
    """Wake the worker and wait until it has taken a whole step after that."""
    before = worker.steps
    worker.wake()
    await eventually(lambda: worker.steps > before + 1, "a step of the worker")


async def test_failures_are_retried_then_recorded(gql: GraphQLClient, fake_llm: FakeLLM) -> None:
    rule = await judge_rule(gql, limits={"maxAttempts": 3})
    # The first run fails once, then gets its score; the second never does.
    fake_llm.responder = lambda body: (
        Reply.error(500)
        if "never" in fake_llm.last_user_message(body)
        else Reply.label({"score": True})
    )
    fake_llm.script.append(Reply.error(503))
    flaky, broken = await ingest(gql, [run(outputs="once"), run(outputs="never")])
    final = await settled(gql, rule["id"], 2)
    assert (final["evaluated"], final["failed"]) == (1, 1)
    (failure,) = (await get_rule(gql, rule["id"]))["failures"]
    assert failure["runId"] == broken and failure["attempts"] == 3
    assert "HTTP 500" in failure["error"]
    asked = [fake_llm.last_user_message(b) for b in fake_llm.requests]
    assert sum("never" in a for a in asked) == 3
    assert sum("once" in a for a in asked) <= 2
    assert [f["score"] for f in await rule_feedback(gql, flaky)] == [True]
    assert await rule_feedback(gql, broken) == []


async def test_the_daily_budget_of_calls_stops_work(
    gql: GraphQLClient, fake_llm: FakeLLM, rate_limit_window: float
) -> None:
    polite(fake_llm)
    rule = await judge_rule(gql, limits={"dailyCalls": 3, "concurrency": 1})
    await ingest(gql, [run() for _ in range(8)])
    final = await settled(gql, rule["id"], 8)
    assert (final["evaluated"], final["skippedBudget"], final["pending"]) == (3, 5, 0)
    assert len(fake_llm.requests) == 3


async def test_the_daily_budget_of_tokens_stops_work(
    gql: GraphQLClient, fake_llm: FakeLLM, rate_limit_window: float
) -> None:
    polite(fake_llm)  # the fake endpoint reports 2 tokens a call
    rule = await judge_rule(gql, limits={"dailyTokens": 3, "concurrency": 1})
    await ingest(gql, [run() for _ in range(6)])
    final = await settled(gql, rule["id"], 6)
    # 0 then 2 tokens spent: two calls; then 4 >= 3.
    assert (final["evaluated"], final["skippedBudget"]) == (2, 4)
    assert len(fake_llm.requests) == 2


async def test_calls_per_minute_make_the_rest_wait(
    app: Starlette, gql: GraphQLClient, fake_llm: FakeLLM, rate_limit_window: float, sync_db: Any
) -> None:
    polite(fake_llm)
    rule = await judge_rule(gql, limits={"callsPerMinute": 2})
    await ingest(gql, [run() for _ in range(6)])

    async def limited() -> bool:
        c = await counts(gql, rule["id"])
        deferred = sync_db["evaluations"].count_documents(
            {"rule_id": rule["id"], "status": "pending", "next_at": {"$gt": clock.now()}}
        )
        return c["evaluated"] == 2 and deferred >= 1

    await eventually(limited, "two evaluations and the rest waiting")
    await step_taken(services(app).evaluation.worker)
    final = await counts(gql, rule["id"])
    # Waiting for the next minute (pinned here: it never comes), not skipped.
    assert (final["evaluated"], final["pending"], final["skippedBudget"]) == (2, 4, 0)
    assert len(fake_llm.requests) == 2


async def test_a_paused_rule_stops(app: Starlette, gql: GraphQLClient, fake_llm: FakeLLM) -> None:
    polite(fake_llm)
    worker = services(app).evaluation.worker
    rule = await judge_rule(gql)
    await worker.stop()
    queued = await ingest(gql, [run() for _ in range(3)])
    paused = await gql.ok(PAUSE, {"id": rule["id"]})
    assert paused["pauseEvaluationRule"]["status"] == "PAUSED"
    # Paused: new runs are not sampled, and what was queued waits.
    await ingest(gql, [run() for _ in range(4)])
    worker.start()
    await step_taken(worker)
    assert await counts(gql, rule["id"]) == {
        "sampled": 3,
        "evaluated": 0,
        "skippedBudget": 0,
        "skippedOther": 0,
        "failed": 0,
        "pending": 3,
    }
    assert fake_llm.requests == []
    # Resumed: the queued runs are scored.
    await gql.ok(RESUME, {"id": rule["id"]})
    final = await settled(gql, rule["id"], 3)
    assert final["evaluated"] == 3 and len(fake_llm.requests) == 3
    for run_id in queued:
        assert len(await rule_feedback(gql, run_id)) == 1


async def test_an_edit_is_a_new_version_and_runs_are_scored_once_per_version(
    app: Starlette, gql: GraphQLClient, sync_db: Any
) -> None:
    worker = services(app).evaluation.worker
    definition = check_rule("short", "short", {"type": "LENGTH", "maxLength": 5})
    rule = (await create_rule(gql, definition))["rule"]
    await worker.stop()
    ids = await ingest(gql, [run(outputs="four"), run(outputs="sixteen chars!!!")])
    edited = definition | {
        "scorer": {"kind": "CHECK", "check": {"type": "LENGTH", "maxLength": 20}}
    }
    saved = (await gql.ok(UPDATE, {"id": rule["id"], "input": edited}))["updateEvaluationRule"]
    assert saved["rule"]["version"] == 2
    worker.start()
    # Queued under version 1: skipped, superseded by the edit.
    first = await settled(gql, rule["id"], 2)
    assert (first["evaluated"], first["skippedOther"]) == (0, 2)
    # A backfill applies version 2 to them; a second one finds them done.
    after = (clock.now() - timedelta(hours=1)).isoformat()
    for expected in (2, 0):
        data = await gql.ok(BACKFILL, {"id": rule["id"], "after": after})
        assert data["backfillEvaluationRule"]["queued"] == expected
    final = await settled(gql, rule["id"], 4)
    assert final["evaluated"] == 2
    for run_id in ids:
        (record,) = await rule_feedback(gql, run_id)
        assert (record["score"], record["sourceInfo"]["rule_version"]) == (True, 2)
    versions = await gql.ok(
        "query($id: ID!) { evaluationRule(id: $id) { versions { version definition } } }",
        {"id": rule["id"]},
    )
    history = versions["evaluationRule"]["versions"]
    assert [v["version"] for v in history] == [1, 2]
    assert history[0]["definition"]["scorer"]["check"]["max_length"] == 5

    # Deleting the rule removes it and its queue; the feedback it wrote stays.
    assert (await gql.ok(DELETE, {"id": rule["id"]}))["deleteEvaluationRule"] == rule["id"]
    gone = await gql.ok("query($id: ID!) { evaluationRule(id: $id) { id } }", {"id": rule["id"]})
    assert gone["evaluationRule"] is None
    assert sync_db["evaluations"].count_documents({"rule_id": rule["id"]}) == 0
    assert len(await rule_feedback(gql, ids[0])) == 1


async def test_a_killed_process_loses_nothing_and_scores_nothing_twice(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    settings: Settings,
    fake_llm: FakeLLM,
    sync_db: Any,
) -> None:
    polite(fake_llm)
    rule = await judge_rule(gql)
    await services(app).evaluation.worker.stop()  # this instance will "die"
    ids = await ingest(gql, [run(outputs=f"answer {i}") for i in range(12)])
    evaluations = sync_db["evaluations"]
    assert evaluations.count_documents({"rule_id": rule["id"], "status": "pending"}) == 12

    # The process had taken four evaluations when it was killed; it had stored the
    # score of two of them, but not yet recorded them done. Its leases still run.
    taken = ids[:4]
    evaluations.update_many(
        {"rule_id": rule["id"], "run_id": {"$in": taken}},
        {
            "$set": {
                "status": "running",
                "owner": "dead-host:1:x",
                "next_at": clock.now() + timedelta(hours=1),
            }
        },
    )
    for run_id in taken[:2]:
        write = FeedbackWrite(
            run_id=run_id,
            key="polite",
            score=True,
            source_type="model",
            source_info={"rule_id": rule["id"], "rule_version": 1},
            user_id=f"rule:{rule['id']}",
        )
        who = f"rule:{rule['id']}"
        await create_feedback(
            services(app).stores, keys.project_id, write, Change(who, "evaluation")
        )

    second = create_app(settings)
    async with second.router.lifespan_context(second):
        worker = services(second).evaluation.worker
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gql2 = GraphQLClient(http, keys.admin)

            async def others_done() -> bool:
                return (await counts(gql2, rule["id"]))["evaluated"] == 8

            await eventually(others_done, "the eight free evaluations")
            await step_taken(worker)
            # Not while the dead process's leases live.
            assert evaluations.count_documents({"rule_id": rule["id"], "status": "running"}) == 4
            assert len(fake_llm.requests) == 8

            evaluations.update_many(
                {"rule_id": rule["id"], "status": "running"},
                {"$set": {"next_at": clock.now() - timedelta(seconds=1)}},
            )
            worker.wake()
            final = await settled(gql2, rule["id"], 12)
            assert final["evaluated"] == 12
    # The two scored before the crash were not asked about again.
    assert len(fake_llm.requests) == 10
    asked = [fake_llm.last_user_message(b) for b in fake_llm.requests]
    for i in range(12):
        assert sum(a.endswith(f"Output:\nanswer {i}") for a in asked) == (0 if i < 2 else 1)
    for run_id in ids:
        assert len(await rule_feedback(gql, run_id)) == 1


async def test_two_processes_share_the_work_and_respect_concurrency(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    settings: Settings,
    fake_llm: FakeLLM,
    sync_db: Any,
) -> None:
    polite(fake_llm)
    fake_llm.gate = threading.Event()  # every request waits until the gate opens
    rule = await judge_rule(gql, limits={"concurrency": 2})
    first = services(app).evaluation.worker
    second_app = create_app(settings)
    async with second_app.router.lifespan_context(second_app):
        second = services(second_app).evaluation.worker
        ids = await ingest(gql, [run() for _ in range(6)])
        await eventually(lambda: len(fake_llm.requests) == 2, "two requests")
        await step_taken(first)
        await step_taken(second)
        # Both processes looked for work: the rule is at its concurrency.
        assert len(fake_llm.requests) == 2 and fake_llm.in_flight == 2
        fake_llm.gate.set()
        final = await settled(gql, rule["id"], 6)
        assert final["evaluated"] == 6
        assert fake_llm.max_in_flight == 2
        assert first.finished + second.finished >= 6
    docs = list(sync_db["evaluations"].find({"rule_id": rule["id"]}))
    assert sorted(d["attempts"] for d in docs) == [1] * 6
    for run_id in ids:
        assert len(await rule_feedback(gql, run_id)) == 1


async def test_many_evaluations_across_two_processes_each_done_once(
    app: Starlette, gql: GraphQLClient, settings: Settings, sync_db: Any
) -> None:
    rule = (await create_rule(gql, check_rule("json", "json", {"type": "VALID_JSON"})))["rule"]
    second_app = create_app(settings)
    async with second_app.router.lifespan_context(second_app):
        runs = [run(outputs="{}" if i % 2 else "nope") for i in range(60)]
        await ingest(gql, runs)
        final = await settled(gql, rule["id"], 60)
    assert final["evaluated"] == 60
    docs = list(sync_db["evaluations"].find({"rule_id": rule["id"]}))
    assert len(docs) == 60 and all(d["attempts"] == 1 for d in docs)
    assert sync_db["feedback"].count_documents({"user_id": f"rule:{rule['id']}"}) == 60
    assert len({d["run_id"] for d in docs}) == 60
