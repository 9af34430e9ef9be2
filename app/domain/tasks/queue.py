"""The review queue of a feedback task, and leases on its runs.

A run is in the queue while it matches the task's tag selector and has fewer than
``reviews_required`` reviews from distinct reviewers. ``claim_review`` hands a
reviewer the oldest run they may take, with a lease that expires after the task's
``lease_seconds``: while it runs, nobody else is handed that run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app import clock
from app.domain import validation as v
from app.domain.tasks.service import get_task
from app.errors import BadRequest
from app.store import Stores
from app.store.feedback_tasks import FeedbackTask
from app.store.pagination import Page
from app.store.review_states import QueueEntry, QueueFilter, ReviewState
from app.store.runs import Run

# Candidates fetched per round of claiming, and rounds before giving up when other
# reviewers keep winning the race for every candidate.
CLAIM_BATCH = 10
CLAIM_ROUNDS = 5
# Runs a reviewer may pass over in one claim (the ones they skipped this session).
MAX_SKIPPED = 500
# The queue is counted for a progress line up to this many runs.
PROGRESS_COUNT_CAP = 10_000


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


@dataclass(frozen=True)
class ReviewProgress:
    reviewer: str
    remaining: int  # runs still needing review that this reviewer has not reviewed
    remaining_capped: bool  # more than PROGRESS_COUNT_CAP: ``remaining`` is the cap
    done: int  # this reviewer's submissions since ``since``
    since: datetime


def _skipped(skip: Sequence[str]) -> tuple[str, ...]:
    if len(skip) > MAX_SKIPPED:
        raise BadRequest(f"at most {MAX_SKIPPED} skipped runs", field="skipRunIds")
    return tuple(dict.fromkeys(v.check_uuid(run_id, "skipRunIds") for run_id in skip))


async def claim_review(
    stores: Stores, project_id: str, task_id: str, reviewer: str, skip: Sequence[str] = ()
) -> Claim | None:
    """Lease the next run to ``reviewer``; None when there is nothing left for them.

    A reviewer who already holds an unexpired lease on this task gets that run again
    (claiming twice does not take two runs), unless it is in ``skip``: runs the
    reviewer passed over, which are released and not handed to them again."""
    task = await get_task(stores, project_id, task_id)
    v.check_text(reviewer, "userId")
    skipped = _skipped(skip)
    now = clock.now()
    held = await stores.review_states.held_by(project_id, task.id, reviewer, now)
    if held is not None and held.run_id in skipped:
        await stores.review_states.release(project_id, task.id, held.run_id, reviewer)
        held = None
    if held is not None and len(held.reviewers) < task.reviews_required:
        claim = await _claim(stores, task, held, reviewer)
        if claim is not None:
            return claim
    until = now + timedelta(seconds=task.lease_seconds)
    queue = _filter(task, reviewer=reviewer, free_at=now, skip_run_ids=skipped)
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


async def review_progress(
    stores: Stores, project_id: str, task_id: str, reviewer: str, since: datetime | None
) -> ReviewProgress:
    """The progress line of a reviewer: runs left in the queue for them, and their
    submissions since ``since`` (default: the start of the day, UTC)."""
    task = await get_task(stores, project_id, task_id)
    v.check_text(reviewer, "userId")
    if since is None:
        now = clock.now()
        since = datetime(now.year, now.month, now.day, tzinfo=UTC)
    elif since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    counted = await stores.review_states.queue_count(
        _filter(task, reviewer=reviewer), PROGRESS_COUNT_CAP + 1
    )
    done = await stores.task_submissions.count_by_reviewer(project_id, task.id, reviewer, since)
    return ReviewProgress(
        reviewer=reviewer,
        remaining=min(counted, PROGRESS_COUNT_CAP),
        remaining_capped=counted > PROGRESS_COUNT_CAP,
        done=done,
        since=since,
    )
