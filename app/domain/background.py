"""Waiting for a wake-up or a poll interval, whichever comes first, in a way that
a task can always be cancelled out of.

``asyncio.wait_for(event.wait(), timeout)`` looks like the same thing but is not,
on Python 3.11: when the task is cancelled in the same loop iteration as the event
is set, ``wait_for`` returns normally and the cancellation is lost (fixed in 3.12,
where ``wait_for`` is built on ``asyncio.timeout``). A background loop hit by it
never stops, and whoever awaits its ``stop()`` waits forever. ``asyncio.timeout``
has no such race on 3.11."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_for_wake(wake: asyncio.Event, seconds: float) -> None:
    """Return when ``wake`` is set or after ``seconds``, then clear ``wake``.
    A cancellation is never swallowed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()
