"""Feedback tasks: create and version them, and record submissions.

A submission's numeric and boolean top-level fields also become ordinary feedback
records, so everything that aggregates feedback (run stats, analytics, exports)
sees them without knowing about tasks:

- key ``<task name>.<field>`` (e.g. ``Summary grading.Coherence``), registered by
  the task as a feedback key (continuous with the schema's minimum/maximum, or
  boolean; ``x-higher-is-better: false`` in the field's schema flips the direction);
- source type ``human`` (``model`` for automatic feedback, whose ``sourceInfo``
  also names the model, prompt version and example runs), user id the reviewer's
  user id, one live record per
  (run, key, reviewer): a reviewer who resubmits updates their record, and a field
  they clear is retracted;
- linked to the submission: ``sourceInfo`` (and the record's ``extra``) carry
  ``task_id``, ``task_version``, ``submission_id`` and ``field``.

The submission is the source of truth; the records are derived from it. There are
no multi-document transactions on a standalone server, so if a write fails half way,
submitting again brings the derived records back in line.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from app import clock
from app.domain import validation as v
from app.domain.feedback import Change, FeedbackWrite, create_feedback
from app.domain.feedback_keys import KeyConfig, register_key
from app.domain.missing import MISSING
from app.domain.tasks.schemas import MetricField, check_task_schema, check_values, metric_fields
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.feedback import Feedback
from app.store.feedback_tasks import FeedbackTask
from app.store.review_states import ReviewState
from app.store.task_submissions import TaskSubmission

MAX_NAME_CHARS = 100
MAX_REVIEWS_REQUIRED = 100
DEFAULT_LEASE_SECONDS = 600
MAX_LEASE_SECONDS = 7 * 24 * 3600


def metric_key(task_name: str, field: str) -> str:
    """The feedback key a task's numeric or boolean field is recorded under."""
    return f"{task_name}.{field}"


@dataclass(frozen=True)
class SubmissionResult:
    task: FeedbackTask
    submission: TaskSubmission
    review: ReviewState
    metrics: list[Feedback]


def _check_name(name: str) -> str:
    v.check_text(name, "name", MAX_NAME_CHARS)
    if not name.strip():
        raise BadRequest("name must not be empty", field="name")
    return name


def _check_settings(reviews_required: int | None, lease_seconds: int | None) -> None:
    if reviews_required is not None and not 1 <= reviews_required <= MAX_REVIEWS_REQUIRED:
        raise BadRequest(
            f"reviewsRequired must be between 1 and {MAX_REVIEWS_REQUIRED}",
            field="reviewsRequired",
        )
    if lease_seconds is not None and not 1 <= lease_seconds <= MAX_LEASE_SECONDS:
        raise BadRequest(
            f"leaseSeconds must be between 1 and {MAX_LEASE_SECONDS}", field="leaseSeconds"
        )


async def _register_metric_keys(
    stores: Stores, project_id: str, task_name: str, schema: Any
) -> None:
    for metric in metric_fields(schema):
        config = KeyConfig(
            kind="boolean" if metric.kind == "boolean" else "continuous",
            min=metric.minimum,
            max=metric.maximum,
            higher_is_better=metric.higher_is_better,
            description=metric.description or f"{metric.name} in feedback task {task_name!r}",
        )
        await register_key(stores, project_id, metric_key(task_name, metric.name), config)


async def create_task(
    stores: Stores,
    project_id: str,
    *,
    name: str,
    schema: Any,
    instructions: str | None = None,
    run_tag_selector: list[str] | None = None,
    reviews_required: int = 1,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
) -> FeedbackTask:
    _check_name(name)
    v.check_text(instructions, "instructions", v.MAX_COMMENT_CHARS)
    tags = v.check_tags(run_tag_selector) or []
    _check_settings(reviews_required, lease_seconds)
    schema = check_task_schema(schema)
    for metric in metric_fields(schema):
        v.check_text(metric_key(name, metric.name), "schema.properties", 200)
    task = await stores.feedback_tasks.create(
        project_id,
        name=name,
        instructions=instructions,
        run_tag_selector=tags,
        reviews_required=reviews_required,
        lease_seconds=lease_seconds,
        schema=schema,
        at=clock.now(),
    )
    await _register_metric_keys(stores, project_id, name, schema)
    return task


async def get_task(stores: Stores, project_id: str, task_id: str) -> FeedbackTask:
    task_id = v.check_uuid(task_id, "taskId")
    task = await stores.feedback_tasks.get(project_id, task_id)
    if task is None:
        raise NotFound(f"feedback task {task_id} not found", field="taskId")
    return task


async def update_task(
    stores: Stores,
    project_id: str,
    task_id: str,
    *,
    schema: Any = MISSING,
    instructions: Any = MISSING,
    run_tag_selector: Any = MISSING,
    reviews_required: Any = MISSING,
    lease_seconds: Any = MISSING,
) -> FeedbackTask:
    """Change a task. A schema that differs from the current one becomes the next
    version; submissions keep the version they were validated against."""
    task = await get_task(stores, project_id, task_id)
    changes: dict[str, Any] = {}
    if instructions is not MISSING:
        changes["instructions"] = v.check_text(instructions, "instructions", v.MAX_COMMENT_CHARS)
    if run_tag_selector is not MISSING:
        changes["run_tag_selector"] = v.check_tags(run_tag_selector) or []
    for name, value in (("reviews_required", reviews_required), ("lease_seconds", lease_seconds)):
        if value is not MISSING:
            if value is None:
                raise BadRequest(f"{name} cannot be null")
            changes[name] = value
    _check_settings(changes.get("reviews_required"), changes.get("lease_seconds"))
    new_schema = None
    if schema is not MISSING:
        checked = check_task_schema(schema)
        for metric in metric_fields(checked):
            v.check_text(metric_key(task.name, metric.name), "schema.properties", 200)
        if checked != task.schema:
            new_schema = checked
    if not changes and new_schema is None:
        if schema is not MISSING:
            return task  # the same schema again: nothing changes, no new version
        raise BadRequest(
            "nothing to update: give schema, instructions, runTagSelector, "
            "reviewsRequired or leaseSeconds"
        )
    updated = await stores.feedback_tasks.update(task, changes, new_schema, clock.now())
    if updated is None:
        raise NotFound(f"feedback task {task.id} not found", field="taskId")
    if new_schema is not None:
        await _register_metric_keys(stores, project_id, task.name, new_schema)
    return updated


def _applies(task: FeedbackTask, tags: list[str]) -> bool:
    return set(task.run_tag_selector) <= set(tags)


async def submit_task_feedback(
    stores: Stores,
    project_id: str,
    task_id: str,
    run_id: str,
    values: Any,
    change: Change,
    *,
    comment: str | None = None,
    user_id: str | None = None,
    source_type: str = "human",
    source_info: dict[str, Any] | None = None,
) -> SubmissionResult:
    """Validate ``values`` against the task's current schema and record them as the
    reviewer's submission (reviewer: ``user_id``, or the caller's identity).

    Automatic feedback submits with ``source_type="model"`` and its ``source_info``
    (model, prompt version, example runs): its metric records carry that source, and
    it does not count as a review, so the run stays in the review queue for people."""
    task = await get_task(stores, project_id, task_id)
    run_id = v.check_uuid(run_id, "runId")
    v.check_text(comment, "comment", v.MAX_COMMENT_CHARS)
    v.check_text(user_id, "userId")
    run = await stores.runs.get(project_id, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found", field="runId")
    if not _applies(task, run.tags):
        raise BadRequest(
            f"feedback task {task.name!r} applies to runs tagged "
            f"{', '.join(task.run_tag_selector)}; run {run_id} is not",
            field="runId",
        )
    values = check_values(task.schema, values, task.version)
    reviewer = user_id or change.by
    now = clock.now()
    before, submission = await stores.task_submissions.upsert(
        project_id=project_id,
        task_id=task.id,
        run_id=run_id,
        reviewer=reviewer,
        user_id=user_id,
        task_version=task.version,
        values=values,
        comment=comment,
        at=now,
        source_type=source_type,
        source_info=source_info,
    )
    if source_type == "model":
        review = await stores.review_states.get(project_id, task.id, run_id)
    else:
        review = await stores.review_states.add_reviewer(project_id, task.id, run_id, reviewer)
    metrics = await _write_metrics(
        stores, project_id, task, submission, before, metric_fields(task.schema), change
    )
    return SubmissionResult(task=task, submission=submission, review=review, metrics=metrics)


def _score(metric: MetricField, value: Any) -> float | bool | None:
    if metric.kind == "boolean":
        return value if isinstance(value, bool) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


async def _write_metrics(
    stores: Stores,
    project_id: str,
    task: FeedbackTask,
    submission: TaskSubmission,
    before: TaskSubmission | None,
    metrics: list[MetricField],
    change: Change,
) -> list[Feedback]:
    written = []
    link = {
        "task_id": task.id,
        "task_version": submission.task_version,
        "submission_id": submission.id,
    }
    for metric in metrics:
        write = FeedbackWrite(
            run_id=submission.run_id,
            key=metric_key(task.name, metric.name),
            source_type=submission.source_type,
            user_id=submission.user_id,
            identity=submission.reviewer,
        )
        score = _score(metric, submission.values.get(metric.name))
        if score is None:
            had = before is not None and _score(metric, before.values.get(metric.name)) is not None
            if had:
                write.retract = True
                with contextlib.suppress(NotFound):
                    await create_feedback(stores, project_id, write, change)
            continue
        write.score = score
        write.comment = submission.comment
        write.source_info = {**(submission.source_info or {}), **link, "field": metric.name}
        write.extra = {**link, "field": metric.name}
        record, _ = await create_feedback(stores, project_id, write, change)
        written.append(record)
    return written
