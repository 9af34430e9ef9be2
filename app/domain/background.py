"""Background loops: a task that does one step of work, waits for a wake-up or a
poll interval, whichever comes first, and does it again, until it is stopped.

The wait is ``asyncio.timeout`` around ``Event.wait``, never ``asyncio.wait_for``:
on Python 3.11, when a task is cancelled in the same loop iteration as the event is
set, ``wait_for`` returns normally and the cancellation is lost (fixed in 3.12,
where ``wait_for`` is built on ``asyncio.timeout``). A loop hit by it never stops,
and whoever awaits its ``stop()`` waits forever.

A cancellation can still be lost inside a library that uses ``asyncio.wait_for`` on
3.11 (PyMongo's network layer does): :func:`cancel_and_wait` cancels again until the
task has ended, and a loop also checks that it was told to stop before each step."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

RECANCEL_SECONDS = 1.0
STOP_GRACE_SECONDS = 5.0


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel the tasks and return once all have ended, whatever they raised. A task
    still running a second after its cancellation (one lost on the way) is
    cancelled again."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def wait_for_wake(wake: asyncio.Event, seconds: float) -> None:
    """Return when ``wake`` is set or after ``seconds``, then clear ``wake``.
    A cancellation is never swallowed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()


class BackgroundLoop:
    """Run ``step`` in a task, then wait ``every`` seconds (less when woken), and
    again, until :meth:`stop` or until ``step`` returns False. With ``wait_first``
    the loop waits before its first step.

    A step that raises is logged (``failure``: what failed) and tried again after
    the wait. :attr:`waiting` is set while the loop waits between steps, so a test
    can wait for the loop to be idle instead of sleeping."""

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[bool | None]],
        every: float,
        *,
        log: logging.Logger,
        failure: str,
        wait_first: bool = False,
        grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        self.name = name
        self.step = step
        self.every = every
        self.log = log
        self.failure = failure
        self.wait_first = wait_first
        self.grace = grace
        self.waiting = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self) -> None:
        if self.task is None:
            self._stopping = False
            self.task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """End the current wait now (or the next one, when the loop is at work)."""
        self._wake.set()

    async def stop(self) -> None:
        """End the loop and wait until it has: between steps at once; during a step,
        after the step (cancelling one midway can leave its database work half done
        and its connection's socket unclosed), or after ``grace`` seconds by
        cancelling it. A loop whose step never ends by itself takes ``grace=0``."""
        task, self.task = self.task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            if self.grace > 0 and not task.done():
                await asyncio.wait({task}, timeout=self.grace)
            await cancel_and_wait([task])
            self._wake.clear()

    async def _wait(self) -> None:
        self.waiting.set()
        try:
            await wait_for_wake(self._wake, self.every)
        finally:
            self.waiting.clear()

    async def _run(self) -> None:
        if self.wait_first:
            await self._wait()
        while not self._stopping:
            try:
                if await self.step() is False:
                    return
            except Exception as exc:
                self.log.warning("%s: %s", self.failure, exc)
            await self._wait()


@contextlib.asynccontextmanager
async def reported_if_slow(
    what: str, log: logging.Logger, seconds: float = 30.0
) -> AsyncIterator[None]:
    """Log the stack of every task of the loop when the block takes longer than
    ``seconds``: a shutdown that hangs says where."""

    async def report() -> None:
        await asyncio.sleep(seconds)
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.print_stack(limit=12, file=stacks)
        log.error("%s has taken over %.0f s; the tasks:\n%s", what, seconds, stacks.getvalue())

    watchdog = asyncio.create_task(report(), name=f"watchdog: {what}")
    try:
        yield
    finally:
        watchdog.cancel()
