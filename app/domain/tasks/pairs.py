"""Pairwise review: two runs of a feedback task with the same inputs, side by side.

The runs a task applies to (its tag selector) are grouped by identical inputs: the
same prompt answered twice, by two models or two prompt versions. The next pair for
a reviewer is the oldest pair they have not compared yet on the pair's key (a
preference on it by them, either way round or tied) and have not skipped. The
reviewer's answer is an ordinary preference (``logPreference``) with their user id.

Only the oldest ``RUNS_PER_GROUP`` runs with the same inputs form pairs, so a prompt
seen a thousand times does not make half a million of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from app.domain import validation as v
from app.domain.feedback_keys import check_key_name
from app.domain.tasks.service import get_task
from app.errors import BadRequest
from app.store import Stores
from app.store.feedback_tasks import FeedbackTask
from app.store.runs import Run

GROUP_BATCH = 50
RUNS_PER_GROUP = 10
MAX_SKIPPED_PAIRS = 500


@dataclass(frozen=True)
class ReviewPair:
    task: FeedbackTask
    key: str
    reviewer: str
    first: Run  # the older run
    second: Run


def pair_key(task: FeedbackTask) -> str:
    """The key a task's preferences are recorded on unless another is given: the
    task's name (its rubric's fields are ``<task name>.<field>``)."""
    return task.name


def _skipped(skip: Sequence[Sequence[str]]) -> set[frozenset[str]]:
    if len(skip) > MAX_SKIPPED_PAIRS:
        raise BadRequest(f"at most {MAX_SKIPPED_PAIRS} skipped pairs", field="skipPairs")
    pairs = set()
    for pair in skip:
        if len(pair) != 2:
            raise BadRequest("each skipped pair is two run ids", field="skipPairs")
        pairs.add(frozenset(v.check_uuid(run_id, "skipPairs") for run_id in pair))
    return pairs


async def next_pair(
    stores: Stores,
    project_id: str,
    task_id: str,
    reviewer: str,
    *,
    key: str | None = None,
    skip: Sequence[Sequence[str]] = (),
) -> ReviewPair | None:
    """The next pair of the task's runs with the same inputs that ``reviewer`` has
    neither compared on ``key`` (default: ``pair_key(task)``) nor skipped; None when
    there is none."""
    task = await get_task(stores, project_id, task_id)
    v.check_text(reviewer, "userId")
    key = check_key_name(key) if key is not None else pair_key(task)
    passed = _skipped(skip)
    offset = 0
    while True:
        groups = await stores.runs.same_input_groups(
            project_id, task.run_tag_selector, offset, GROUP_BATCH, RUNS_PER_GROUP
        )
        if not groups:
            return None
        ids = [run_id for group in groups for run_id in group]
        done = passed | await stores.preferences.compared_pairs(project_id, key, reviewer, ids)
        for group in groups:
            for a, b in combinations(group, 2):
                if frozenset((a, b)) in done:
                    continue
                runs = {r.id: r for r in await stores.runs.get_many(project_id, [a, b])}
                if a in runs and b in runs:
                    return ReviewPair(task, key, reviewer, runs[a], runs[b])
        offset += GROUP_BATCH
