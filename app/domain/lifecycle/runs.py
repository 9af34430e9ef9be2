"""Deleting runs (admin): by id or by a filter, with everything that names them
(feedback, signals, preferences, tokens, task submissions, review state, job
records; see app/store/lifecycle.py), in batches, taking their feedback out of the
rollups and scrubbing webhook deliveries that carry it. Deleting runs that are
already gone does nothing, so a deletion cut short is finished by running it again.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.domain.analytics.removal import subtract_feedback
from app.domain.validation import check_uuid
from app.errors import BadRequest
from app.store import Stores
from app.store.lifecycle import Removed
from app.store.runs import RunQuery

# Runs per batch; every statement touches at most this many documents of a
# collection (feedback of a batch's runs is read this many at a time).
RUN_BATCH = 200
MAX_IDS = 10_000
# Ids collected before webhook deliveries are searched for them.
SCRUB_EVERY = 20_000

Progress = Callable[[int], None]


def _ignore(_: int) -> None:
    return None


@dataclass
class Deletion:
    """What a deletion removed: counts per collection (runs included)."""

    removed: Removed = field(default_factory=Removed)
    scrubbed_deliveries: int = 0

    def counts(self) -> dict[str, int]:
        counts = {name: n for name, n in self.removed.counts.items() if n}
        if self.scrubbed_deliveries:
            counts["webhook_deliveries"] = self.scrubbed_deliveries
        return dict(sorted(counts.items()))


async def delete_run_batches(
    stores: Stores,
    project_id: str,
    next_batch: Callable[[], Awaitable[list[str]]],
    progress: Progress = _ignore,
) -> Deletion:
    """Delete runs, a batch of ids from ``next_batch`` at a time, until it gives none."""
    deletion = Deletion()
    needles: set[str] = set()
    while run_ids := await next_batch():
        # Their feedback leaves the groups it was counted in: read them first.
        fields = await stores.runs.group_fields(project_id, run_ids)
        removed = await stores.lifecycle.delete_runs(project_id, run_ids, RUN_BATCH)
        stores.runs.forget(project_id, run_ids)
        await subtract_feedback(stores, removed.feedback, fields)
        needles |= {json.dumps(i) for i in [*run_ids, *removed.feedback_ids]}
        if len(needles) >= SCRUB_EVERY:
            deletion.scrubbed_deliveries += await _scrub(stores, project_id, needles)
            needles = set()
        removed.feedback = []  # counted; not kept for the whole deletion
        deletion.removed.merge(removed)
        progress(len(run_ids))
    deletion.scrubbed_deliveries += await _scrub(stores, project_id, needles)
    return deletion


async def _scrub(stores: Stores, project_id: str, needles: set[str]) -> int:
    """Scrub the webhook deliveries naming any of these runs or feedback records
    (one pass over the project's deliveries for many batches of runs)."""
    return await stores.lifecycle.scrub_deliveries(project_id, needles, RUN_BATCH)


async def delete_runs(
    stores: Stores,
    project_id: str,
    *,
    ids: list[str] | None = None,
    query: RunQuery | None = None,
    progress: Progress = _ignore,
) -> Deletion:
    """Delete the runs with these ids, or those matching ``query`` (exactly one)."""
    if (ids is None) == (query is None):
        raise BadRequest("give either run ids or a filter, not both and not neither")
    if ids is not None:
        if len(ids) > MAX_IDS:
            raise BadRequest(f"at most {MAX_IDS} run ids at once, got {len(ids)}", field="ids")
        wanted = [check_uuid(i, "ids") for i in ids]
        query = RunQuery(ids=wanted)
    assert query is not None
    mongo = query.to_mongo(project_id)

    async def next_batch() -> list[str]:
        return await stores.lifecycle.run_ids(mongo, RUN_BATCH)

    return await delete_run_batches(stores, project_id, next_batch, progress)


async def count_runs(stores: Stores, project_id: str, query: RunQuery) -> int:
    """How many runs a filter matches (a progress bar's total)."""
    return await stores.lifecycle.count_runs(query.to_mongo(project_id))
