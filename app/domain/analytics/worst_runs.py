"""Worst runs: the runs with the most negative feedback in a window, read from the
runs' days over long windows (app/domain/analytics/run_day_reads.py), else from
the runs' tallies (app/domain/analytics/tally_reads.py)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime

from app import clock
from app.domain.analytics import windows
from app.domain.analytics.rollup_buffer import RollupBuffer
from app.domain.analytics.rules import load_rules
from app.domain.analytics.run_day_reads import ranked_by_run_days
from app.domain.analytics.stats import EARLIEST, LATEST
from app.domain.analytics.tally_reads import negative_runs
from app.domain.lifecycle.retention import retained_since
from app.errors import BadRequest
from app.store import Stores
from app.store.feedback import Feedback

MAX_RUNS = 100
MAX_COMMENTS = 10


@dataclass(frozen=True)
class WorstRun:
    run_id: str
    negative: int
    positive: int
    scored: int
    last_at: datetime
    comments: list[Feedback]


async def worst_runs(
    stores: Stores,
    project_id: str,
    *,
    keys: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    first: int = 10,
    comments: int = 3,
    buffer: RollupBuffer | None = None,
) -> list[WorstRun]:
    """Runs ordered by their number of negative scores (each key judged by its own
    direction), then by their latest feedback; with their newest comments."""
    if not 1 <= first <= MAX_RUNS:
        raise BadRequest(f"first must be between 1 and {MAX_RUNS}")
    if not 0 <= comments <= MAX_COMMENTS:
        raise BadRequest(f"comments must be between 0 and {MAX_COMMENTS}")
    if keys is not None and not keys:
        raise BadRequest("keys: give at least one key (or leave it out)")
    since = windows.as_utc(since) if since else None
    until = windows.as_utc(until) if until else None
    for at in (since, until):
        if at is not None and not EARLIEST <= at <= LATEST:
            raise BadRequest("after and before must be between 1970 and 9000")
    if since is not None and until is not None and since >= until:
        raise BadRequest("the window is empty: `after` must be before `before`")
    if buffer is not None:
        await buffer.flush()  # what unregistered keys look like includes our writes
    rules = await load_rules(stores, project_id, keys)
    horizon = await retained_since(stores, project_id, clock.now())
    ranked = await ranked_by_run_days(stores, project_id, keys, rules, since, until, horizon, first)
    if ranked is None:
        totals = await negative_runs(stores, project_id, keys, since, until, rules, horizon)
        ranked = heapq.nsmallest(
            first,
            totals.items(),
            key=lambda item: (-item[1].negative, _newest_first(item[1].last), item[0]),
        )
    found: dict[str, list[Feedback]] = {}
    if comments and ranked:
        found = await stores.feedback_analytics.commented_for_runs(
            project_id, [run_id for run_id, _ in ranked], keys, comments
        )
    return [
        WorstRun(
            run_id=run_id,
            negative=t.negative,
            positive=t.positive,
            scored=t.scored,
            last_at=t.last,
            comments=found.get(run_id, []),
        )
        for run_id, t in ranked
    ]


def _newest_first(at: datetime) -> float:
    return -at.timestamp()
