"""The review queue of a feedback task, and leases on its runs.

A run is in the queue while it matches the task's tag selector and has fewer than
``reviews_required`` reviews from distinct reviewers. ``claim_review`` hands a
reviewer the oldest run they may take, with a lease that expires after the task's
``lease_seconds``: while it runs, nobody else is handed that run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app import clock
from app.domain import validation as v
from app.domain.tasks.service import get_task
from app.store import Stores
from app.store.feedback_tasks import FeedbackTask
from app.store.pagination import Page
from app.store.review_states import QueueEntry, QueueFilter, ReviewState
from app.store.runs import Run

# Candidates fetched per round of claiming, and rounds before giving up when other
# reviewers keep winning the race for every candidate.
CLAIM_BATCH = 10
CLAIM_ROUNDS = 5


@dataclass(frozen=True)
class Claim:
    task: FeedbackTask
    run: Run
    reviewer: str
    lease_until: datetime


def _filter(task: FeedbackTask, **kwargs: object) -> QueueFilter:
    return QueueFilter(
        project_id=task.project_id,
        task_id=task.id,
        tags=task.run_tag_selector,
        reviews_required=task.reviews_required,
        **kwargs,  # type: ignore[arg-type]
    )


async def review_queue(
    stores: Stores,
    project_id: str,
    task_id: str,
    first: int | None,
    after: str | None,
    *,
    reviewer: str | None = None,
) -> Page[QueueEntry]:
    """Runs that still need review, oldest first; with ``reviewer``, leaving out the
    runs that reviewer has already reviewed."""
    task = await get_task(stores, project_id, task_id)
    v.check_text(reviewer, "reviewer")
    return await stores.review_states.queue_page(_filter(task, reviewer=reviewer), first, after)


async def claim_review(
    stores: Stores, project_id: str, task_id: str, reviewer: str
) -> Claim | None:
    """Lease the next run to ``reviewer``; None when there is nothing left for them.

    A reviewer who already holds an unexpired lease on this task gets that run again
    (claiming twice does not take two runs)."""
    task = await get_task(stores, project_id, task_id)
    v.check_text(reviewer, "userId")
    now = clock.now()
    held = await stores.review_states.held_by(project_id, task.id, reviewer, now)
    if held is not None and len(held.reviewers) < task.reviews_required:
        claim = await _claim(stores, task, held, reviewer)
        if claim is not None:
            return claim
    until = now + timedelta(seconds=task.lease_seconds)
    queue = _filter(task, reviewer=reviewer, free_at=now)
    for _ in range(CLAIM_ROUNDS):
        candidates = await stores.review_states.claim_candidates(queue, CLAIM_BATCH)
        if not candidates:
            return None
        for run_id in candidates:
            state = await stores.review_states.try_claim(
                project_id,
                task.id,
                run_id,
                reviewer=reviewer,
                reviews_required=task.reviews_required,
                now=now,
                until=until,
            )
            if state is not None:
                claim = await _claim(stores, task, state, reviewer)
                if claim is not None:
                    return claim
    return None


async def _claim(
    stores: Stores, task: FeedbackTask, state: ReviewState, reviewer: str
) -> Claim | None:
    run = await stores.runs.get(task.project_id, state.run_id)
    if run is None or state.lease_until is None:
        return None
    return Claim(task=task, run=run, reviewer=reviewer, lease_until=state.lease_until)


async def release_review(
    stores: Stores, project_id: str, task_id: str, run_id: str, reviewer: str
) -> bool:
    """Give a claimed run back to the queue before its lease ends."""
    task = await get_task(stores, project_id, task_id)
    run_id = v.check_uuid(run_id, "runId")
    return await stores.review_states.release(project_id, task.id, run_id, reviewer)
