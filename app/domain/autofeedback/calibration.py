"""How far to trust automatic labels: predict runs people labelled, from the other
runs people labelled, and compare.

The split is deterministic: the runs with labels from people are ordered by
``sha256("<seed>:<run id>")`` and the first ``round(holdout * n)`` (at least one, at
most n - 1, and at most ``MAX_HELD_OUT``) are held out. Their labels are hidden from
the predictor: it sees only the other runs' labels as examples. So the LLM and the
nearest-neighbour baseline, given the same holdout and seed, are measured on the same
runs, and a team sees what the LLM adds.

Each held-out run's prediction is compared with every person's label of that run, per
field (the fields inter-reviewer agreement uses: numbers by absolute error; booleans,
enums and a key's categories by exact agreement), skipping pairs where either value
is missing. A prediction that fails (an invalid answer, an unreachable LLM) is counted
as failed, with the reason, and compared with nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.autofeedback.jobs import POOL_SIZE, check_examples, check_method
from app.domain.autofeedback.llm import LLMClient, LLMError
from app.domain.autofeedback.predictors import (
    NEAREST_NEIGHBOUR,
    IclPredictor,
    NearestNeighbour,
    PredictionFailed,
    Predictor,
)
from app.domain.autofeedback.selection import ExamplePool
from app.domain.autofeedback.targets import Example, Prediction, load_target
from app.domain.tasks.schemas import FieldKind
from app.errors import BadRequest
from app.settings import Settings
from app.store import Stores

MAX_HELD_OUT = 100


@dataclass
class FieldCalibration:
    field: str
    measure: str  # "exact" | "numeric"
    runs: int = 0  # held-out runs where the field was compared at least once
    compared: int = 0  # (prediction, person's label) pairs with both values
    missing: int = 0  # pairs where a person gave a value and the prediction did not
    equal: int = 0
    absolute_error: float = 0.0

    @property
    def exact_agreement(self) -> float | None:
        if self.measure != "exact" or not self.compared:
            return None
        return self.equal / self.compared

    @property
    def mean_absolute_error(self) -> float | None:
        if self.measure != "numeric" or not self.compared:
            return None
        return self.absolute_error / self.compared


@dataclass(frozen=True)
class CalibrationFailure:
    run_id: str
    error: str


@dataclass
class CalibrationReport:
    task_id: str | None
    key: str | None
    method: str
    model: str
    examples: int
    holdout: float
    seed: int
    labelled_runs: int  # runs with labels from people
    held_out_run_ids: list[str]
    example_runs: int  # runs whose labels the predictor could use
    predicted: int = 0
    fields: list[FieldCalibration] = field(default_factory=list)
    failures: list[CalibrationFailure] = field(default_factory=list)


def holdout_split(run_ids: Sequence[str], holdout: float, seed: int) -> tuple[list[str], list[str]]:
    """(held out, the rest), deterministic for the same runs, holdout and seed."""
    unique = sorted(set(run_ids))
    if len(unique) < 2:
        raise BadRequest(
            f"calibration needs runs labelled by people on at least 2 runs, found {len(unique)}"
        )
    if not 0 < holdout < 1:
        raise BadRequest("holdout must be a fraction between 0 and 1 (e.g. 0.2)", field="holdout")
    ordered = sorted(unique, key=lambda r: hashlib.sha256(f"{seed}:{r}".encode()).hexdigest())
    size = max(1, min(len(ordered) - 1, round(holdout * len(ordered)), MAX_HELD_OUT))
    return ordered[:size], ordered[size:]


def _usable(kind: FieldKind, value: Any) -> bool:
    if value is None:
        return False
    if kind.measure == "numeric":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; in JSON they are different values.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def compare(
    fields: list[FieldCalibration],
    kinds: list[FieldKind],
    prediction: dict[str, Any],
    labels: list[dict[str, Any]],
) -> None:
    """Add one held-out run's comparisons to ``fields``."""
    for tally, kind in zip(fields, kinds, strict=True):
        predicted: Any = prediction.get(kind.name)
        compared_here = False
        for label in labels:
            actual: Any = label.get(kind.name)
            if not _usable(kind, actual):
                continue
            if not _usable(kind, predicted):
                tally.missing += 1
                continue
            tally.compared += 1
            compared_here = True
            if kind.measure == "numeric":
                tally.absolute_error += abs(float(predicted) - float(actual))
            elif _same(predicted, actual):
                tally.equal += 1
        if compared_here:
            tally.runs += 1


async def calibrate(
    stores: Stores,
    settings: Settings,
    llm: Callable[[], LLMClient],
    project_id: str,
    *,
    task_id: str | None,
    key: str | None,
    method: str,
    holdout: float = 0.2,
    seed: int = 0,
    examples: int = 8,
) -> CalibrationReport:
    check_method(method, settings)
    check_examples(examples)
    target = await load_target(stores, project_id, task_id=task_id, key=key)
    labelled = await target.examples(stores, POOL_SIZE)
    held_out, rest = holdout_split([e.run.id for e in labelled], holdout, seed)
    kept = set(rest)
    pool = [e for e in labelled if e.run.id in kept]
    predictor: Predictor
    if method == "nearest_neighbour":
        predictor, model = NearestNeighbour(pool), NEAREST_NEIGHBOUR
    else:
        assert settings.llm_model is not None
        model = settings.llm_model
        predictor = IclPredictor(llm(), model, target, ExamplePool(pool, target.fields), examples)
    report = CalibrationReport(
        task_id=target.task_id,
        key=target.key,
        method=method,
        model=model,
        examples=examples,
        holdout=holdout,
        seed=seed,
        labelled_runs=len(held_out) + len(rest),
        held_out_run_ids=held_out,
        example_runs=len(rest),
        fields=[FieldCalibration(k.name, k.measure) for k in target.fields],
    )
    by_run: dict[str, list[Example]] = {}
    for example in labelled:
        by_run.setdefault(example.run.id, []).append(example)

    async def predict(run_id: str) -> Prediction | CalibrationFailure:
        try:
            return await predictor.predict(by_run[run_id][0].run)
        except (LLMError, PredictionFailed) as exc:
            return CalibrationFailure(run_id, exc.message)

    results = await asyncio.gather(*(predict(run_id) for run_id in held_out))
    for run_id, result in zip(held_out, results, strict=True):
        if isinstance(result, CalibrationFailure):
            report.failures.append(result)
            continue
        report.predicted += 1
        compare(report.fields, target.fields, result.values, [e.values for e in by_run[run_id]])
    return report
