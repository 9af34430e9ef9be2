"""app.domain.background.BackgroundLoop: the one shape of every background loop
(rollup flushes, webhook deliveries, automatic-feedback jobs and their leases, the
live change stream). Driven by events, never by sleeping."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.domain.background import BackgroundLoop, cancel_and_wait

log = logging.getLogger("tests.background")


async def test_a_failing_step_is_logged_and_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entered = [asyncio.Event() for _ in range(3)]
    rounds = 0

    async def step() -> None:
        nonlocal rounds
        entered[rounds].set()
        rounds += 1
        if rounds < 3:
            raise RuntimeError(f"round {rounds}")

    loop = BackgroundLoop("test-loop", step, 60, log=log, failure="the test step failed")
    with caplog.at_level(logging.WARNING, logger="tests.background"):
        loop.start()
        for round_entered in entered[:2]:
            await asyncio.wait_for(round_entered.wait(), 5)
            # The step ran (``waiting`` was cleared before it): this is the wait after it.
            await asyncio.wait_for(loop.waiting.wait(), 5)
            loop.wake()  # end the 60 s wait now
        await asyncio.wait_for(entered[2].wait(), 5)
        await asyncio.wait_for(loop.waiting.wait(), 5)
        await loop.stop()
    assert rounds == 3
    assert [r.getMessage() for r in caplog.records] == [
        "the test step failed: round 1",
        "the test step failed: round 2",
    ]
    assert not loop.running


async def test_a_step_returning_false_ends_the_loop() -> None:
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        return False

    loop = BackgroundLoop("test-loop", step, 60, log=log, failure="failed")
    loop.start()
    assert loop.task is not None
    await asyncio.wait_for(loop.task, 5)
    assert calls == 1 and not loop.running and not loop.waiting.is_set()
    await loop.stop()  # stopping an ended loop is fine


async def test_wait_first_waits_before_the_first_step() -> None:
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1

    loop = BackgroundLoop("test-loop", step, 60, log=log, failure="failed", wait_first=True)
    loop.start()
    await asyncio.wait_for(loop.waiting.wait(), 5)
    assert calls == 0
    await loop.stop()
    assert calls == 0 and not loop.running


async def test_a_loop_whose_step_loses_the_cancellation_still_stops() -> None:
    """Inside a library that uses ``asyncio.wait_for`` on 3.11 (PyMongo does) a
    cancellation can be lost: the step returns normally. The loop must stop anyway,
    or the app's shutdown waits for it forever."""
    in_step = asyncio.Event()
    losses = 0

    async def step() -> None:
        nonlocal losses
        in_step.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            losses += 1  # swallowed, as a lost cancellation is

    loop = BackgroundLoop("test-loop", step, 0, log=log, failure="failed", grace=0)
    loop.start()
    await asyncio.wait_for(in_step.wait(), 5)
    await asyncio.wait_for(loop.stop(), 30)
    assert losses == 1 and not loop.running


async def test_cancel_and_wait_cancels_again_until_the_task_ends() -> None:
    started = asyncio.Event()
    cancels = 0

    async def stubborn() -> str:
        nonlocal cancels
        started.set()
        while cancels < 2:  # swallows two cancellations, ends on the third
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancels += 1
        return "ended"

    async def failing() -> None:
        raise RuntimeError("failed before it was cancelled")

    tasks = [asyncio.create_task(stubborn()), asyncio.create_task(failing())]
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(cancel_and_wait(tasks), 30)
    assert cancels == 2 and all(task.done() for task in tasks)
    assert tasks[0].result() == "ended"


async def test_stop_lets_the_step_in_progress_finish() -> None:
    """A step is not cancelled midway when it finishes within the grace: its database
    work is not left half done, nor its connection's socket unclosed."""
    in_step, release = asyncio.Event(), asyncio.Event()
    outcomes: list[str] = []

    async def step() -> None:
        in_step.set()
        try:
            await release.wait()
            outcomes.append("finished")
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise

    loop = BackgroundLoop("test-loop", step, 60, log=log, failure="failed", grace=30)
    loop.start()
    await asyncio.wait_for(in_step.wait(), 5)
    stopping = asyncio.create_task(loop.stop())
    await asyncio.sleep(0)  # stop() has begun waiting for the step
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert outcomes == ["finished"] and not loop.running


async def test_a_step_that_outlasts_the_grace_is_cancelled() -> None:
    in_step = asyncio.Event()
    outcomes: list[str] = []

    async def step() -> None:
        in_step.set()
        try:
            await asyncio.Event().wait()  # never ends by itself
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise

    loop = BackgroundLoop("test-loop", step, 60, log=log, failure="failed", grace=0)
    loop.start()
    await asyncio.wait_for(in_step.wait(), 5)
    await asyncio.wait_for(loop.stop(), 5)
    assert outcomes == ["cancelled"] and not loop.running
