"""Build or extend a dataset from runs chosen by their feedback, e.g. "runs with a
thumbs-down and a correction in the last 7 days".

A run is chosen when it has live feedback matching the selection (a key, a score
condition, given since a time) and, when asked, feedback carrying a correction.
Its inputs become the example's inputs; the latest correction (else the run's
outputs) its reference outputs; the feedback ids are recorded on the example and
the run is its source run. Repeating a build adds only runs the dataset has no
example from yet (whatever happened to that example since)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain import datasets
from app.domain.datasets import NewExample
from app.errors import BadRequest
from app.store import Stores
from app.store.datasets import Dataset
from app.store.feedback import Feedback
from app.store.runs import Run

# Feedback records read per build, and so at most this many runs per build.
MAX_FEEDBACK = 5_000
SCORE_OPS = ("eq", "neq", "gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class Selection:
    """Which runs: feedback on ``key`` (any key when None) whose score meets
    every ``(op, number)``, given at or after ``since``; with ``with_correction``
    the run must also have a correction (on any key, since then too)."""

    key: str | None = None
    scores: tuple[tuple[str, float], ...] = ()
    since: datetime | None = None
    with_correction: bool = False
    limit: int = 1_000


@dataclass(frozen=True)
class BuildResult:
    dataset: Dataset
    added: int
    # Chosen runs the dataset already had an example from.
    already_in: int
    # The version the build made (None when it added nothing).
    version: int | None


def _check(selection: Selection) -> None:
    if selection.key is None and not selection.scores and not selection.with_correction:
        raise BadRequest("choose runs by a feedback key, a score condition or a correction")
    for op, _ in selection.scores:
        if op not in SCORE_OPS:
            raise BadRequest(f"unknown score condition {op!r}; one of {', '.join(SCORE_OPS)}")
    if not 1 <= selection.limit <= MAX_FEEDBACK:
        raise BadRequest(f"limit must be between 1 and {MAX_FEEDBACK}", field="limit")


def _as_object(value: Any, name: str) -> dict[str, Any]:
    return value if isinstance(value, dict) else {name: value}


async def _chosen(stores: Stores, project_id: str, s: Selection) -> dict[str, list[Feedback]]:
    """The chosen runs' ids (newest feedback first), with the feedback that chose them."""
    by_run: dict[str, list[Feedback]] = {}
    if s.key is not None or s.scores:
        for record in await stores.feedback.selected(
            project_id, key=s.key, scores=list(s.scores), created_after=s.since, limit=MAX_FEEDBACK
        ):
            by_run.setdefault(record.run_id, []).append(record)
        if s.with_correction and by_run:
            corrections = await stores.feedback.selected(
                project_id,
                created_after=s.since,
                with_correction=True,
                run_ids=list(by_run),
                limit=MAX_FEEDBACK,
            )
            corrected: dict[str, list[Feedback]] = {}
            for record in corrections:
                corrected.setdefault(record.run_id, []).append(record)
            by_run = {
                run_id: [
                    *found,
                    *(c for c in corrected[run_id] if c.id not in {f.id for f in found}),
                ]
                for run_id, found in by_run.items()
                if run_id in corrected
            }
    else:
        for record in await stores.feedback.selected(
            project_id, created_after=s.since, with_correction=True, limit=MAX_FEEDBACK
        ):
            by_run.setdefault(record.run_id, []).append(record)
    return by_run


def _example(run: Run, feedback: list[Feedback]) -> NewExample:
    corrections = sorted(
        (f for f in feedback if f.correction is not None), key=lambda f: f.modified_at
    )
    outputs = corrections[-1].correction if corrections else run.outputs
    return NewExample(
        inputs=_as_object(run.inputs if run.inputs is not None else {}, "input"),
        outputs=_as_object(outputs, "output") if outputs is not None else None,
        metadata={"from_feedback": sorted({f.key for f in feedback})},
        source_run_id=run.id,
        feedback_ids=[f.id for f in feedback],
    )


async def build(
    stores: Stores,
    project_id: str,
    dataset_name: str,
    selection: Selection,
    *,
    description: str | None = None,
) -> BuildResult:
    """Create the dataset named ``dataset_name`` when there is none, and add an
    example for each chosen run it has none from (one new version)."""
    _check(selection)
    name = datasets.check_name(dataset_name)
    dataset = await stores.datasets.by_name(project_id, name)
    if dataset is None:
        dataset = await datasets.create_dataset(
            stores, project_id, name, description=description, metadata={"source": "feedback"}
        )
    by_run = await _chosen(stores, project_id, selection)
    run_ids = list(by_run)[: selection.limit]
    known = await stores.datasets.source_runs(dataset.id, run_ids)
    new_ids = [run_id for run_id in run_ids if run_id not in known]
    runs = {r.id: r for r in await stores.runs.get_many(project_id, new_ids)} if new_ids else {}
    # Oldest run first, so the dataset reads in the order things happened.
    chosen = sorted((runs[i] for i in new_ids if i in runs), key=lambda r: (r.start_time, r.id))
    if not chosen:
        return BuildResult(dataset, added=0, already_in=len(known), version=None)
    added = await datasets.add_examples(
        stores, project_id, dataset.id, [_example(run, by_run[run.id]) for run in chosen]
    )
    dataset = await datasets.get_dataset(stores, project_id, dataset.id)
    return BuildResult(dataset, added=len(added), already_in=len(known), version=added[0].version)
