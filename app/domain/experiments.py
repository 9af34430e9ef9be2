"""Experiments: a target run over a dataset. An experiment is a tracing project with
a reference dataset; each of its root runs points to the example it was made from
(``reference_example_id``), and the evaluators' scores are feedback on those runs.
Summary evaluators' results (about the whole experiment) are kept on it, one per key.

Comparing experiments: per feedback key, each experiment's mean, median (p50) and
pass rate (the share of runs scoring at least the pass threshold; a boolean score
counts as 1 or 0); and per example, the side-by-side outputs and scores, the
examples where the experiments disagree most first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from app import clock
from app.domain import validation as v
from app.domain.feedback_keys import check_key_name
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.datasets import Example
from app.store.feedback import Feedback
from app.store.runs import Run
from app.store.tracing_projects import TracingProject

# Runs of one experiment that a comparison reads; past this it is refused.
MAX_EXPERIMENT_RUNS = 10_000
MAX_COMPARED = 10
DEFAULT_PASS_THRESHOLD = 0.5
CHUNK = 1_000


async def get_experiment(stores: Stores, project_id: str, experiment_id: str) -> TracingProject:
    found = await stores.tracing_projects.get(project_id, v.check_uuid(experiment_id, "id"))
    if found is None:
        raise NotFound(f"experiment {experiment_id} not found")
    if found.reference_dataset_id is None:
        raise BadRequest(
            f"tracing project {found.name!r} is not an experiment (it has no reference dataset)"
        )
    return found


async def record_summary(
    stores: Stores,
    project_id: str,
    experiment_id: str,
    key: str,
    *,
    score: Any = None,
    value: Any = None,
    comment: str | None = None,
    source_type: str = "model",
    feedback_id: str | None = None,
) -> dict[str, Any]:
    """A summary evaluator's result on an experiment (the latest per key wins)."""
    experiment = await get_experiment(stores, project_id, experiment_id)
    key = check_key_name(key)
    if score is not None and not isinstance(score, int | float):
        raise BadRequest("score must be a number or a boolean", field="score")
    result = {
        "id": feedback_id,
        "score": score,
        "value": v.check_json(value, "value", v.MAX_VALUE_BYTES),
        "comment": v.check_text(comment, "comment", v.MAX_COMMENT_CHARS),
        "source_type": source_type,
        "created_at": clock.now().isoformat(),
    }
    await stores.tracing_projects.set_summary_score(project_id, experiment.id, key, result)
    return result


@dataclass(frozen=True)
class KeySummary:
    key: str
    n: int
    mean: float | None
    p50: float | None
    pass_rate: float | None


@dataclass(frozen=True)
class ExperimentResults:
    experiment: TracingProject
    # Each example's run (the first, when repeated), and each run's mean score per key.
    runs_by_example: dict[str, Run]
    scores: dict[str, dict[str, float]]
    keys: list[KeySummary]


@dataclass(frozen=True)
class Cell:
    experiment_id: str
    run: Run | None
    scores: dict[str, float]


@dataclass(frozen=True)
class ExampleComparison:
    example_id: str
    example: Example | None
    cells: list[Cell]
    # The largest difference between two experiments' scores on one key.
    disagreement: float


@dataclass(frozen=True)
class Comparison:
    experiments: list[ExperimentResults]
    examples: list[ExampleComparison] = field(default_factory=list)


def _as_number(score: Any) -> float | None:
    if isinstance(score, bool):
        return 1.0 if score else 0.0
    if isinstance(score, int | float):
        return float(score)
    return None


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def run_scores(feedback: list[Feedback]) -> dict[str, dict[str, float]]:
    """Per run, per key: the mean of its live scores."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record in feedback:
        number = _as_number(record.score)
        if number is not None and not record.retracted:
            sums[(record.run_id, record.key)].append(number)
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for (run_id, key), values in sums.items():
        scores[run_id][key] = sum(values) / len(values)
    return scores


def summarize(scores: list[dict[str, float]], threshold: float) -> list[KeySummary]:
    by_key: dict[str, list[float]] = defaultdict(list)
    for per_key in scores:
        for key, score in per_key.items():
            by_key[key].append(score)
    return [
        KeySummary(
            key=key,
            n=len(values),
            mean=sum(values) / len(values),
            p50=_median(values),
            pass_rate=sum(1 for x in values if x >= threshold) / len(values),
        )
        for key, values in sorted(by_key.items())
    ]


async def results(
    stores: Stores, experiment: TracingProject, threshold: float = DEFAULT_PASS_THRESHOLD
) -> ExperimentResults:
    runs = await stores.runs.with_examples_in_tracing_project(
        experiment.project_id, experiment.id, MAX_EXPERIMENT_RUNS + 1
    )
    if len(runs) > MAX_EXPERIMENT_RUNS:
        raise BadRequest(
            f"experiment {experiment.name!r} has more than {MAX_EXPERIMENT_RUNS} runs; "
            "too many to compare here"
        )
    feedback: list[Feedback] = []
    for start in range(0, len(runs), CHUNK):
        ids = [r.id for r in runs[start : start + CHUNK]]
        feedback += await stores.feedback.for_runs(experiment.project_id, ids)
    scores = run_scores(feedback)
    by_example: dict[str, Run] = {}
    for run in runs:
        assert run.reference_example_id is not None
        by_example.setdefault(run.reference_example_id, run)
    return ExperimentResults(
        experiment=experiment,
        runs_by_example=by_example,
        scores={run.id: scores.get(run.id, {}) for run in runs},
        keys=summarize([scores.get(run.id, {}) for run in runs], threshold),
    )


def _disagreement(cells: list[Cell]) -> float:
    spread = 0.0
    keys = {key for cell in cells for key in cell.scores}
    for key in keys:
        values = [cell.scores[key] for cell in cells if key in cell.scores]
        if len(values) > 1:
            spread = max(spread, max(values) - min(values))
    return spread


def _place(example: Example | None) -> tuple[bool, str, str]:
    """An example's place in its dataset; deleted ones last."""
    if example is None:
        return (True, "", "")
    return (False, example.created_at.isoformat(), example.order)


async def compare(
    stores: Stores,
    project_id: str,
    experiment_ids: list[str],
    *,
    threshold: float = DEFAULT_PASS_THRESHOLD,
) -> Comparison:
    """Experiments side by side (in the order given), the examples where they
    disagree most first (then in the dataset's order)."""
    if not experiment_ids:
        raise BadRequest("give at least one experiment", field="experimentIds")
    if len(experiment_ids) > MAX_COMPARED:
        raise BadRequest(f"compare at most {MAX_COMPARED} experiments", field="experimentIds")
    experiments = [await get_experiment(stores, project_id, i) for i in experiment_ids]
    compared = [await results(stores, e, threshold) for e in experiments]
    example_ids = list(dict.fromkeys(i for r in compared for i in r.runs_by_example))
    examples: dict[str, Example] = {}
    for start in range(0, len(example_ids), CHUNK):
        chunk = example_ids[start : start + CHUNK]
        examples.update({e.id: e for e in await stores.datasets.current(project_id, chunk)})
    rows = []
    for example_id in example_ids:
        cells = []
        for result in compared:
            run = result.runs_by_example.get(example_id)
            cells.append(
                Cell(result.experiment.id, run, result.scores.get(run.id, {}) if run else {})
            )
        rows.append(
            ExampleComparison(example_id, examples.get(example_id), cells, _disagreement(cells))
        )
    ordered = sorted(rows, key=lambda row: (-row.disagreement, *_place(row.example)))
    return Comparison(experiments=compared, examples=ordered)
