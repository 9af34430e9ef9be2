"""Recounting a key's run tallies after its threshold changed.

Run tallies count scores above and below the key's threshold
(app/domain/analytics/tallies.py). Registering a key, changing its kind, range or
categories, or deleting its registration can move that threshold; the direction
(``higher_is_better``) cannot, since it is applied when reading. When the key has
tallies counted against another threshold than the new one, their recount (a
rebuild of that key's tallies from the raw feedback) starts in the background:
a key can have millions of records, and the request that changed it should not
wait for them. Until it is done worst runs stay exact: they recount the buckets
they read from the raw feedback (app/domain/analytics/tally_reads.py). Like
``plaudit rollups rebuild``, a write landing while the recount runs can be counted
twice or not at all in its bucket; run the rebuild again for exact stored numbers.
"""

from __future__ import annotations

import asyncio
import logging

from app.domain.analytics.rebuild import rebuild_tallies
from app.domain.analytics.rules import load_rules
from app.domain.background import cancel_and_wait
from app.store import Stores

log = logging.getLogger("plaudit.tallies")

_running: set[asyncio.Task[int]] = set()


async def recount_if_threshold_moved(
    stores: Stores, project_id: str, key: str
) -> asyncio.Task[int] | None:
    """Start the recount of the key's tallies if any were counted against another
    threshold than its rule's now; returns the running recount (None: none needed)."""
    rule = (await load_rules(stores, project_id, [key]))[key]
    tags = await stores.run_tallies.thresholds_counted(project_id, key)
    if not tags - {rule.rule_id}:
        return None
    task = asyncio.create_task(rebuild_tallies(stores, project_id, key))
    _running.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[int]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("recounting run tallies failed; run `plaudit rollups rebuild`: %s", error)


def _ours() -> list[asyncio.Task[int]]:
    """The recounts of this event loop (one whose loop has closed is forgotten)."""
    loop = asyncio.get_running_loop()
    for task in [t for t in _running if t.get_loop() is not loop and t.get_loop().is_closed()]:
        _running.discard(task)
    return [t for t in _running if t.get_loop() is loop]


async def wait() -> None:
    """Until every recount started so far has ended (tests, shutdown)."""
    await asyncio.gather(*_ours(), return_exceptions=True)


async def stop() -> None:
    """Cancel the recounts still running (the process is stopping): the buckets
    not recounted are still counted from raw feedback when read."""
    await cancel_and_wait(_ours())
