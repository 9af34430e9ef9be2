"""Jobs over their life: progress while running, cancel, resume after a restart (a
second app instance on the same database), takeover after a crash, and two jobs on
one task never labelling the same run."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app import clock
from app.main import create_app
from app.settings import Settings
from tests.autofeedback.api import CANCEL, finished, job, model_submissions, start
from tests.autofeedback.dataset import TOPIC_LABELS, UNLABELLED, DataSet, build, topic_label
from tests.autofeedback.fake_llm import FakeLLM, Reply
from tests.autofeedback.waiting import eventually
from tests.conftest import GraphQLClient, Keys, services


@pytest.fixture
def settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    # One run at a time, so what is in flight is known.
    return replace(settings, llm_base_url=fake_llm.url, llm_model="judge-1", llm_concurrency=1)


def label_by_topic(fake: FakeLLM, *, hold_after: int | None = None) -> None:
    fake.responder = lambda body: Reply.label(topic_label(fake.last_user_message(body)))
    if hold_after is not None:
        fake.gate = threading.Event()
        fake.gate_after = hold_after


async def labelled_once(gql: GraphQLClient, ds: DataSet) -> None:
    """Every unlabelled run has exactly one automatic label, the right one."""
    for name in UNLABELLED:
        (submission,) = await model_submissions(gql, ds.task_id, ds.ids[name])
        assert submission["values"] == TOPIC_LABELS[name.split("-")[0]]


async def test_progress_and_cancel(
    app: Starlette, gql: GraphQLClient, fake_llm: FakeLLM, sync_db: Any
) -> None:
    ds = await build(gql)
    label_by_topic(fake_llm, hold_after=1)  # the first run is answered, the second waits
    started = await start(gql, task=ds.task_id, limit=10)
    assert started["status"] == "QUEUED"
    await eventually(lambda: len(fake_llm.requests) == 2, "the second request")

    running = await job(gql, started["id"])
    assert (running["status"], running["total"], running["done"], running["failed"]) == (
        "RUNNING",
        3,
        1,
        0,
    )
    assert running["inFlight"] == 1

    cancelled = (await gql.ok(CANCEL, {"id": started["id"]}))["cancelAutoFeedbackJob"]
    assert cancelled["status"] == "CANCELLED" and cancelled["finishedAt"]
    assert fake_llm.gate is not None
    fake_llm.gate.set()  # the run in flight gets its answer, which is dropped
    runner = services(app).autofeedback
    await eventually(lambda: not runner.running, "the runner to stop the job")

    final = await job(gql, started["id"])
    assert (final["status"], final["done"], final["failed"], final["inFlight"]) == (
        "CANCELLED",
        1,
        0,
        0,
    )
    assert len(fake_llm.requests) == 2  # the third run was never asked about
    counts = [len(await model_submissions(gql, ds.task_id, ds.ids[n])) for n in UNLABELLED]
    assert sorted(counts) == [0, 0, 1]
    # Cancelling a finished job returns it as it is.
    again = (await gql.ok(CANCEL, {"id": started["id"]}))["cancelAutoFeedbackJob"]
    assert again == cancelled


async def test_resume_after_a_restart(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    settings: Settings,
    fake_llm: FakeLLM,
    sync_db: Any,
) -> None:
    ds = await build(gql)
    label_by_topic(fake_llm, hold_after=1)
    started = await start(gql, task=ds.task_id, limit=10)
    await eventually(lambda: len(fake_llm.requests) == 2, "the second request")
    in_flight = fake_llm.last_user_message(fake_llm.requests[1])

    # The first instance shuts down (a deploy, say) with one run labelled and one in
    # flight: its job is left unfinished, its lease released.
    await services(app).autofeedback.stop()
    stored = sync_db["autofeedback_jobs"].find_one({"_id": started["id"]})
    assert (stored["status"], stored["lease_owner"]) == ("running", None)
    assert (await job(gql, started["id"]))["done"] == 1
    assert fake_llm.gate is not None
    fake_llm.gate.set()

    # A second instance on the same database picks the job up at start-up.
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gql2 = GraphQLClient(http, keys.admin)
            done = await finished(gql2, started["id"])
            assert (done["status"], done["done"], done["failed"], done["total"]) == (
                "DONE",
                3,
                0,
                3,
            )
            await labelled_once(gql2, ds)
    # The run in flight at the restart was asked about again; the others once.
    assert len(fake_llm.requests) == 4
    asked = [fake_llm.last_user_message(b) for b in fake_llm.requests]
    assert asked.count(in_flight) == 2


async def test_a_dead_process_lease_is_taken_over_once_it_lapses(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    settings: Settings,
    fake_llm: FakeLLM,
    sync_db: Any,
) -> None:
    ds = await build(gql)
    label_by_topic(fake_llm)
    await services(app).autofeedback.stop()  # this instance takes no jobs
    started = await start(gql, task=ds.task_id, limit=10)
    # A process took the job and died without a word: its lease is still live.
    jobs = sync_db["autofeedback_jobs"]
    live = clock.now() + timedelta(hours=1)
    jobs.update_one(
        {"_id": started["id"]},
        {"$set": {"status": "running", "lease_owner": "dead-host:1:x", "lease_until": live}},
    )

    second = create_app(settings)
    async with second.router.lifespan_context(second):
        runner = services(second).autofeedback
        await runner._take_jobs()
        assert runner.running == []  # not while the lease lives
        assert (await job(gql, started["id"]))["status"] == "RUNNING"
        assert fake_llm.requests == []

        jobs.update_one(
            {"_id": started["id"]}, {"$set": {"lease_until": clock.now() - timedelta(seconds=1)}}
        )
        runner.wake()
        done = await finished(gql, started["id"])
        assert (done["status"], done["done"]) == ("DONE", 3)
        assert jobs.find_one({"_id": started["id"]})["lease_owner"] is None
    await labelled_once(gql, ds)


async def test_two_jobs_on_one_task_never_label_the_same_run(
    app: Starlette, gql: GraphQLClient, fake_llm: FakeLLM
) -> None:
    ds = await build(gql)
    label_by_topic(fake_llm)
    runner = services(app).autofeedback
    await runner.stop()
    first = await start(gql, task=ds.task_id, limit=10)
    second = await start(gql, task=ds.task_id, limit=10)
    assert first["total"] == second["total"] == 3
    await runner.start()  # takes both; they run side by side
    a = await finished(gql, first["id"])
    b = await finished(gql, second["id"])
    assert a["done"] + b["done"] == 3
    assert a["failed"] == b["failed"] == 0
    assert a["status"] == b["status"] == "DONE"
    # The job that found fewer runs left says so in its total.
    assert (a["total"], b["total"]) == (a["done"], b["done"])
    assert len(fake_llm.requests) == 3  # no run was asked about twice
    await labelled_once(gql, ds)


async def test_claims_are_atomic(app: Starlette, keys: Keys) -> None:
    claims = services(app).stores.autofeedback_claims
    pid, target, run = keys.project_id, "task:t", "run-1"
    now = clock.now()
    later = now + timedelta(minutes=15)
    # Twelve jobs race for each of twenty runs: exactly one wins each.
    for other_run in (f"race-{i}" for i in range(20)):
        raced = await asyncio.gather(
            *(claims.claim(pid, target, other_run, f"racer-{i}", now, later) for i in range(12))
        )
        assert raced.count(True) == 1, other_run
    won = await asyncio.gather(
        *(claims.claim(pid, target, run, f"job-{i}", now, later) for i in range(12))
    )
    assert won.count(True) == 1
    winner = f"job-{won.index(True)}"
    # The holder may take its own claim again (after a restart); no one else.
    assert await claims.claim(pid, target, run, winner, now, later)
    assert not await claims.claim(pid, target, run, "job-other", now, later)
    assert await claims.blocked(pid, target, [run, "run-2"], "job-other", now) == {run}
    assert await claims.counts(winner) == {"claimed": 1}
    # Failed there: the run is let go; the same job does not try it again, others may.
    await claims.settle(pid, target, run, winner, "failed", now, "boom")
    assert await claims.counts(winner) == {"failed": 1}
    assert await claims.blocked(pid, target, [run], winner, now) == {run}
    assert await claims.blocked(pid, target, [run], "job-new", now) == set()
    assert await claims.claim(pid, target, run, "job-new", now, later)
    # A claim whose time ran out (its process died) is taken over.
    after = later + timedelta(seconds=1)
    assert await claims.claim(pid, target, run, "job-late", after, after + timedelta(minutes=1))
    assert await claims.open_claims("job-late") == [run]
    assert await claims.open_claims("job-new") == []
    # The same run under another target, or in another project, is another claim.
    assert await claims.claim(pid, "key:k", run, "job-other", now, later)
    assert await claims.claim("other-project", target, run, "job-other", now, later)
    (failure,) = await claims.failures(winner, 10)
    assert (failure.run_id, failure.error) == (run, "boom")
