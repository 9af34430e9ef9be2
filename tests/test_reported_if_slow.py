"""The shutdown watchdog (app.domain.background.reported_if_slow): a block slower
than its limit logs every task's stack, so a hang in CI says where it hangs; a
quick block logs nothing."""

from __future__ import annotations

import asyncio
import logging

from app.domain.background import reported_if_slow


class Caught(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.seen.set()


def caught_logger(name: str) -> tuple[logging.Logger, Caught]:
    log = logging.getLogger(name)
    handler = Caught()
    log.addHandler(handler)
    log.propagate = False
    return log, handler


async def parked_in_a_distinctive_place(release: asyncio.Event) -> None:
    await release.wait()


async def test_a_slow_block_logs_where_every_task_is() -> None:
    log, handler = caught_logger("plaudit.test.slow")
    release = asyncio.Event()
    parked = asyncio.create_task(parked_in_a_distinctive_place(release))
    try:
        async with reported_if_slow("the slow block", log, seconds=0.01):
            await handler.seen.wait()  # the block lasts until the report is made
    finally:
        release.set()
        await parked
    assert len(handler.records) == 1
    message = handler.records[0].getMessage()
    assert message.startswith("the slow block has taken over 0 s; the tasks:")
    assert "parked_in_a_distinctive_place" in message
    assert handler.records[0].levelno == logging.ERROR


async def test_a_quick_block_logs_nothing_and_leaves_no_watchdog() -> None:
    log, handler = caught_logger("plaudit.test.quick")
    async with reported_if_slow("the quick block", log, seconds=30):
        pass
    watchdogs = [t for t in asyncio.all_tasks() if t.get_name() == "watchdog: the quick block"]
    for watchdog in watchdogs:
        assert watchdog.cancelling() or watchdog.done()
    assert handler.records == []
