"""Background loops (webhook dispatcher, automatic-feedback poller) stop when asked,
even when a wake-up arrives in the same instant: on Python 3.11,
``asyncio.wait_for`` loses a cancellation that races the event it waits for, and
a loop hit by it polled forever while the app's shutdown waited for it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from starlette.applications import Starlette

from app.domain.background import wait_for_wake
from app.settings import Settings


async def test_a_wake_in_the_same_instant_as_a_cancel_still_cancels() -> None:
    wake = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            await wait_for_wake(wake, 60)
            rounds += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.05)  # the loop is waiting now
    wake.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert rounds == 0


async def test_a_wake_ends_the_wait_and_is_cleared() -> None:
    wake = asyncio.Event()
    waiting = asyncio.create_task(wait_for_wake(wake, 60))
    await asyncio.sleep(0.05)
    wake.set()
    await asyncio.wait_for(waiting, 5)
    assert not wake.is_set()
    started = asyncio.get_running_loop().time()
    await wait_for_wake(wake, 0.05)  # nothing wakes it: the interval ends it
    assert asyncio.get_running_loop().time() - started >= 0.05


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Long polls: the loops sit in their wait when the test stops them.
    return replace(settings, webhook_poll_seconds=60)


async def test_the_apps_background_loops_stop_when_woken_while_stopping(app: Starlette) -> None:
    services = app.state.services
    dispatcher = services.pipelines.dispatcher
    runner = services.autofeedback
    expiry = services.pipelines.pending_expiry  # waits before its first round
    for loop in (dispatcher, runner, expiry):  # each waits now
        await asyncio.wait_for(loop.background.waiting.wait(), 10)
    # stop() runs in this task, so its cancel lands in the same instant as the wake.
    # A lost cancellation shows as the bound running out: its own cancel then
    # reaches the loop (stop() awaits it), so only the bound tells.
    for loop in (dispatcher, runner, expiry):
        bound = asyncio.timeout(10)
        async with bound:
            loop.wake()
            await loop.stop()
        assert not bound.expired(), f"{type(loop).__name__}.stop() lost its cancellation"
