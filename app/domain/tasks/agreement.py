"""Inter-reviewer agreement on a feedback task.

Over every run with reviews from two or more reviewers, for each top-level field of
the task's current schema that is measurable (see ``schemas.agreement_fields``),
every pair of reviewers who both gave the field a (non-null) value is compared:

- exact fields (booleans, enums, consts): the share of pairs that gave equal values;
- numeric fields: the mean absolute difference between the pair's values.

Pairs are counted per run and pooled across runs, so a run with three reviewers
contributes three pairs. Submissions are read one run at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

from app.domain.tasks.schemas import FieldKind, agreement_fields
from app.domain.tasks.service import get_task
from app.store import Stores


@dataclass(frozen=True)
class FieldAgreement:
    field: str
    measure: str  # "exact" | "numeric"
    runs: int  # runs where at least two reviewers gave the field a value
    pairs: int
    exact_agreement: float | None  # exact fields: equal pairs / pairs
    mean_absolute_difference: float | None  # numeric fields


@dataclass(frozen=True)
class TaskAgreement:
    task_id: str
    runs_compared: int  # runs with two or more reviewers
    fields: list[FieldAgreement]


@dataclass
class _Tally:
    kind: FieldKind
    runs: int = 0
    pairs: int = 0
    equal: int = 0
    abs_diff: float = 0.0

    def add(self, values: list[Any]) -> None:
        if len(values) < 2:
            return
        self.runs += 1
        for a, b in combinations(values, 2):
            self.pairs += 1
            if self.kind.measure == "numeric":
                self.abs_diff += abs(float(a) - float(b))
            elif _same(a, b):
                self.equal += 1

    def result(self) -> FieldAgreement:
        exact = mad = None
        if self.pairs:
            if self.kind.measure == "numeric":
                mad = self.abs_diff / self.pairs
            else:
                exact = self.equal / self.pairs
        return FieldAgreement(
            field=self.kind.name,
            measure=self.kind.measure,
            runs=self.runs,
            pairs=self.pairs,
            exact_agreement=exact,
            mean_absolute_difference=mad,
        )


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; in JSON they are different values.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _usable(kind: FieldKind, value: Any) -> bool:
    if value is None:
        return False
    if kind.measure == "numeric":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


async def task_agreement(stores: Stores, project_id: str, task_id: str) -> TaskAgreement:
    task = await get_task(stores, project_id, task_id)
    tallies = [_Tally(kind) for kind in agreement_fields(task.schema)]
    runs_compared = 0
    async for every in stores.task_submissions.grouped_by_run(project_id, task.id):
        # Between people: automatic feedback is measured by its calibration report.
        group = [s for s in every if s.source_type != "model"]
        if len({s.reviewer for s in group}) < 2:
            continue
        runs_compared += 1
        for tally in tallies:
            name = tally.kind.name
            tally.add([s.values[name] for s in group if _usable(tally.kind, s.values.get(name))])
    return TaskAgreement(
        task_id=task.id, runs_compared=runs_compared, fields=[t.result() for t in tallies]
    )
