"""What automatic feedback labels: a feedback task (a JSON-Schema rubric) or a single
feedback key (a model judge). Both look the same to selection, prompts, jobs and
calibration: labels are JSON objects checked against a schema, learnt from the
labels people gave, and stored the way people's labels are.

- A task's labels are its submissions' values. Automatic ones are stored through
  ``submit_task_feedback`` as the submission of reviewer ``model:<model>``, source
  type ``model``, so their metric records (``<task>.<field>``) sit beside people's,
  told apart by source.
- A key's labels are ``{"score": ...}``, within the key's configuration (checked by
  ``check_score`` as every score is). Automatic ones are feedback records of source
  type ``model`` by user ``model:<model>``.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.domain.autofeedback.similarity import text_of
from app.domain.feedback import Change, FeedbackWrite, create_feedback
from app.domain.feedback_keys import InvalidFeedbackValue, check_score, describe_allowed
from app.domain.tasks.schemas import FieldKind, agreement_fields, validation_errors
from app.domain.tasks.service import get_task, submit_task_feedback
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.feedback_keys import FeedbackKey
from app.store.feedback_tasks import FeedbackTask
from app.store.runs import Run, RunQuery

RUN_BATCH = 100


@dataclass(frozen=True)
class Example:
    """A label a person gave a run."""

    run: Run
    values: dict[str, Any]
    label_id: str  # the submission's or the feedback record's id
    created_at: datetime


@dataclass(frozen=True)
class Prediction:
    """A label to store, with where it came from (``source_info``)."""

    values: dict[str, Any]
    source_info: dict[str, Any] = field(default_factory=dict)


class Target(ABC):
    kind: str  # "task" | "key"
    ref: str  # "task:<id>" | "key:<name>": how claims name the target
    task_id: str | None = None
    key: str | None = None
    project_id: str
    schema: dict[str, Any]  # the JSON Schema of one label
    instructions: str | None
    fields: list[FieldKind]  # the fields calibration compares

    @abstractmethod
    def describe(self) -> str:
        """What is being labelled, for the prompt."""

    def run_query(self, run_filter: RunQuery) -> RunQuery:
        return run_filter

    @abstractmethod
    async def examples(self, stores: Stores, limit: int) -> list[Example]:
        """People's labels, newest first, at most ``limit``."""

    @abstractmethod
    async def labelled(self, stores: Stores, run_ids: list[str]) -> set[str]:
        """Which of ``run_ids`` already have a label, from anyone."""

    def problems(self, values: Any) -> list[str]:
        """Why ``values`` is not a valid label (empty when it is)."""
        if not isinstance(values, dict):
            return ["$: the answer must be a JSON object"]
        return [f"{e['path']}: {e['message']}" for e in validation_errors(self.schema, values)]

    @abstractmethod
    async def store(
        self, stores: Stores, run_id: str, prediction: Prediction, reviewer: str, change: Change
    ) -> None:
        """Record the label as feedback of source type ``model`` by ``reviewer``."""

    async def _runs(self, stores: Stores, run_ids: list[str]) -> dict[str, Run]:
        """The labelled runs, in batches, each holding only the text that similarity
        and prompts read (a pool of thousands of runs with large inputs stays small)."""
        unique = list(dict.fromkeys(run_ids))
        found: dict[str, Run] = {}
        for start in range(0, len(unique), RUN_BATCH):
            for run in await stores.runs.get_many(
                self.project_id, unique[start : start + RUN_BATCH]
            ):
                found[run.id] = replace(
                    run, inputs=text_of(run.inputs), outputs=text_of(run.outputs), metadata=None
                )
        return found


class TaskTarget(Target):
    kind = "task"

    def __init__(self, task: FeedbackTask) -> None:
        self.task = task
        self.task_id = task.id
        self.ref = f"task:{task.id}"
        self.project_id = task.project_id
        self.schema = task.schema
        self.instructions = task.instructions
        self.fields = agreement_fields(task.schema)

    def describe(self) -> str:
        return f'the feedback task "{self.task.name}"'

    def run_query(self, run_filter: RunQuery) -> RunQuery:
        tags = list(dict.fromkeys([*self.task.run_tag_selector, *run_filter.tags]))
        return replace(run_filter, tags=tags)

    async def examples(self, stores: Stores, limit: int) -> list[Example]:
        submissions = await stores.labels.human_submissions(self.project_id, self.task.id, limit)
        # Labels given under an older schema are examples only while they still fit.
        usable = [s for s in submissions if not validation_errors(self.schema, s.values)]
        runs = await self._runs(stores, [s.run_id for s in usable])
        return [
            Example(runs[s.run_id], s.values, s.id, s.created_at)
            for s in usable
            if s.run_id in runs
        ]

    async def labelled(self, stores: Stores, run_ids: list[str]) -> set[str]:
        return await stores.labels.runs_with_submissions(self.project_id, self.task.id, run_ids)

    async def store(
        self, stores: Stores, run_id: str, prediction: Prediction, reviewer: str, change: Change
    ) -> None:
        await submit_task_feedback(
            stores,
            self.project_id,
            self.task.id,
            run_id,
            copy.deepcopy(prediction.values),
            change,
            user_id=reviewer,
            source_type="model",
            source_info=prediction.source_info,
        )


def key_schema(fk: FeedbackKey) -> dict[str, Any]:
    """The JSON Schema of a key judge's answer: ``{"score": ...}`` within the key."""
    score: dict[str, Any]
    if fk.kind == "continuous":
        score = {"type": "number"}
        if fk.min is not None:
            score["minimum"] = fk.min
        if fk.max is not None:
            score["maximum"] = fk.max
    elif fk.kind == "boolean":
        score = {"type": "boolean"}
    elif fk.kind == "categorical":
        score = {"enum": [c.value for c in fk.categories]}
    else:
        raise BadRequest(
            f"feedback key {fk.key!r} is freeform (no score): a judge needs a continuous, "
            "categorical or boolean key",
            field="key",
        )
    score["description"] = describe_allowed(fk) + (f" ({fk.description})" if fk.description else "")
    return {
        "type": "object",
        "properties": {"score": score},
        "required": ["score"],
        "additionalProperties": False,
    }


class KeyTarget(Target):
    kind = "key"

    def __init__(self, fk: FeedbackKey, instructions: str | None) -> None:
        self.fk = fk
        self.key = fk.key
        self.ref = f"key:{fk.key}"
        self.project_id = fk.project_id
        self.schema = key_schema(fk)
        self.instructions = instructions or fk.description
        measure = "numeric" if fk.kind == "continuous" else "exact"
        self.fields = [FieldKind("score", measure)]

    def describe(self) -> str:
        return f'the feedback key "{self.fk.key}", whose score is {describe_allowed(self.fk)}'

    async def examples(self, stores: Stores, limit: int) -> list[Example]:
        records = await stores.labels.human_feedback(self.project_id, self.fk.key, limit)
        usable = [f for f in records if not self.problems({"score": f.score})]
        runs = await self._runs(stores, [f.run_id for f in usable])
        return [
            Example(runs[f.run_id], {"score": f.score}, f.id, f.created_at)
            for f in usable
            if f.run_id in runs
        ]

    async def labelled(self, stores: Stores, run_ids: list[str]) -> set[str]:
        return await stores.labels.runs_with_feedback(self.project_id, self.fk.key, run_ids)

    def problems(self, values: Any) -> list[str]:
        found = super().problems(values)
        if found:
            return found
        try:
            check_score(self.fk.key, self.fk, values["score"], None)
        except InvalidFeedbackValue as exc:
            return [f"$.score: {exc.message}"]
        return []

    async def store(
        self, stores: Stores, run_id: str, prediction: Prediction, reviewer: str, change: Change
    ) -> None:
        write = FeedbackWrite(
            run_id=run_id,
            key=self.fk.key,
            score=prediction.values["score"],
            source_type="model",
            source_info=prediction.source_info,
            user_id=reviewer,
        )
        await create_feedback(stores, self.project_id, write, change)


async def load_target(
    stores: Stores, project_id: str, *, task_id: str | None, key: str | None
) -> Target:
    """The task (by id) or the feedback key (by name) to label: exactly one."""
    if (task_id is None) == (key is None):
        raise BadRequest("give either taskId or key (exactly one)")
    if task_id is not None:
        return TaskTarget(await get_task(stores, project_id, task_id))
    assert key is not None
    fk = await stores.feedback_keys.get(project_id, key)
    if fk is None:
        raise NotFound(
            f"feedback key {key!r} is not registered: register it (kind and range) so the "
            "judge knows which scores are allowed",
            field="key",
        )
    judge = await stores.key_judges.get(project_id, key)
    return KeyTarget(fk, judge.instructions if judge else None)
