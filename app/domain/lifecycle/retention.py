"""Per-project retention: a project with ``retention_days`` keeps its runs,
feedback, signals, preferences and task submissions that many days; older ones
are removed in the background, a bounded batch per collection at a time (runs with
everything that names them, see app/store/lifecycle.py).

Statistics over time keep working for expired periods: rollups are aggregates and
are left as they are (nothing is subtracted), and a rollup rebuild leaves the days
before the retention horizon alone (app/domain/analytics/rebuild.py). Rollups
grouped by end user are the exception: they go with the days retention has passed,
so that no end user's id outlives their feedback.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app import clock
from app.domain.analytics import windows
from app.domain.background import BackgroundLoop
from app.domain.lifecycle import tombstones
from app.store import Stores
from app.store.projects import Project

log = logging.getLogger("plaudit.retention")

# Documents per collection per batch.
BATCH = 500


async def retained_since(stores: Stores, project_id: str, now: datetime) -> datetime | None:
    """The start of the first whole day all of the project's raw records are kept
    for (None: no retention, all of them are). Rollups of earlier days are the only
    record of them: neither rebuilt nor recounted from raw feedback."""
    project = await stores.projects.get_cached(project_id)
    if project is None or not project.retention_days:
        return None
    return windows.ceil(now - timedelta(days=project.retention_days), "day")


async def sweep_project(stores: Stores, project: Project, now: datetime, batch: int) -> int:
    """One batch of removing the project's expired records; returns how many went
    (0: none left)."""
    if not project.retention_days:
        return 0
    before = now - timedelta(days=project.retention_days)
    removed = 0
    run_ids = await stores.lifecycle.expired_run_ids(project.id, before, batch)
    if run_ids:
        gone = await stores.lifecycle.delete_runs(project.id, run_ids, batch)
        stores.runs.forget(project.id, run_ids)
        removed += gone.total
    removed += (await stores.lifecycle.expire(project.id, before, batch)).total
    # End users' ids are kept no longer than their feedback: the rollups grouped by
    # user go with the days retention has passed (totals and other groupings stay).
    horizon = windows.floor(before, "day")
    await stores.feedback_group_buckets.drop_before(project.id, "user", horizon)
    return removed


async def sweep(stores: Stores, batch: int = BATCH) -> int:
    """One batch for every project with a retention period; returns how many went."""
    now = clock.now()
    removed = 0
    for project in await stores.projects.with_retention():
        removed += await sweep_project(stores, project, now, batch)
    return removed


async def bury_old_tombstones(stores: Stores) -> int:
    """Reduce tombstones left by earlier versions (with their content and history)
    to ids and times, expiring like new ones; returns how many."""
    now = clock.now()
    buried = 0
    for project in await stores.projects.list():
        buried += await stores.lifecycle.bury_old_tombstones(
            project.id, at=now, purge_at=tombstones.purge_at(now), batch=BATCH
        )
    return buried


class RetentionSweeper:
    """Sweeps every ``every`` seconds; while batches keep finding expired records,
    the next one follows at once. Its first step also reduces old tombstones
    (once per process: a pass over deleted feedback)."""

    def __init__(self, stores: Stores, every: float, batch: int = BATCH) -> None:
        self.stores = stores
        self.batch = batch
        self.removed = 0
        self.old_tombstones_done = False
        self.background = BackgroundLoop(
            "retention",
            self.step,
            every,
            log=log,
            failure="retention sweep failed (will retry)",
            wait_first=True,
        )

    async def step(self) -> None:
        if not self.old_tombstones_done:
            buried = await bury_old_tombstones(self.stores)
            if buried:
                log.info("retention: %d old tombstones reduced to ids and times", buried)
            self.old_tombstones_done = True
        removed = await sweep(self.stores, self.batch)
        self.removed += removed
        if removed:
            log.info("retention: %d expired records removed", removed)
            self.background.wake()

    def start(self) -> None:
        self.background.start()

    async def stop(self) -> None:
        await self.background.stop()
