"""Comparative (pairwise) experiments: two or more experiments on one dataset,
judged side by side, example by example, by pairwise evaluators.

An evaluator's result on one example is a group of scores, one per run (one run per
experiment); each score arrives as its own feedback record (LangSmith's
``comparative_experiment_id`` and ``feedback_group_id``). Each pair of runs in a
group becomes a Plaudit preference on the evaluator's key: the higher score is
preferred; equal scores are a tie, ``good`` at or above 0.5, else ``bad``. The
preference's id is derived from the group, key and runs, so scores arriving in any
order, concurrently or twice make one preference per pair.

Win rates: between two experiments on a key, every preference whose runs are one
in each (pairwise evaluators' and people's alike) counts as a win, a loss or a tie
(half a win); the interval is Wilson's score interval at the asked confidence."""

from __future__ import annotations

import itertools
import math
import uuid
from collections import Counter
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from app import clock
from app.domain import validation as v
from app.domain.experiments import get_experiment
from app.domain.feedback import Change
from app.domain.feedback_keys import check_key_name
from app.domain.preferences import preference_doc
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.comparative import ComparativeExperiment, PairwiseScore

MAX_EXPERIMENTS = 10
# Preferences a win-rate query reads; past this it is refused.
MAX_WIN_RATE_PREFERENCES = 100_000
TIE_THRESHOLD = 0.5
# Preference ids derived from (comparative experiment, group, key, runs).
PREFERENCE_IDS = uuid.UUID("6f1f6a53-55a4-4a77-9d5c-6b3c0d0f7e21")


async def create_comparative_experiment(
    stores: Stores,
    project_id: str,
    *,
    name: str,
    experiment_ids: list[str],
    reference_dataset_id: str | None = None,
    description: str | None = None,
    extra: Any = None,
    comparative_id: str | None = None,
) -> ComparativeExperiment:
    """Experiments of this project, at least two, all on the same dataset."""
    name = (v.check_text(name, "name") or "").strip()
    if not name:
        raise BadRequest("a comparative experiment needs a name", field="name")
    ids = list(dict.fromkeys(v.check_uuid(e, "experiment_ids") for e in experiment_ids))
    if not 2 <= len(ids) <= MAX_EXPERIMENTS:
        raise BadRequest(
            f"compare from 2 to {MAX_EXPERIMENTS} different experiments", field="experiment_ids"
        )
    experiments = [await get_experiment(stores, project_id, e) for e in ids]
    datasets = {e.reference_dataset_id for e in experiments}
    if len(datasets) != 1:
        raise BadRequest(
            "the experiments compared must share one reference dataset", field="experiment_ids"
        )
    [dataset_id] = datasets
    if reference_dataset_id is not None and v.check_uuid(
        reference_dataset_id, "reference_dataset_id"
    ) != str(dataset_id):
        raise BadRequest(
            "reference_dataset_id is not the experiments' dataset", field="reference_dataset_id"
        )
    now = clock.now()
    return await stores.comparative_experiments.insert(
        {
            "_id": v.check_uuid(comparative_id, "id") if comparative_id else str(uuid.uuid4()),
            "project_id": project_id,
            "name": name,
            "description": v.check_text(description, "description", v.MAX_COMMENT_CHARS),
            "experiment_ids": ids,
            "reference_dataset_id": str(dataset_id),
            "extra": v.check_json(extra, "extra", v.MAX_VALUE_BYTES),
            "created_at": now,
            "modified_at": now,
        }
    )


async def experiment_of_run(
    stores: Stores, project_id: str, comparative: ComparativeExperiment, run_id: str
) -> str | None:
    """The experiment of ``comparative`` this run is in (None: the run has not
    arrived); a run of another tracing project is refused."""
    owners = await stores.runs.tracing_projects_of(project_id, [run_id])
    owner = owners.get(run_id)
    if owner is not None and owner not in comparative.experiment_ids:
        raise BadRequest(
            f"run {run_id} is not in an experiment of comparative experiment {comparative.id}",
            field="run_id",
        )
    return owner


def _as_number(score: Any) -> float:
    if isinstance(score, bool):
        return 1.0 if score else 0.0
    if not isinstance(score, int | float) or not math.isfinite(score):
        raise BadRequest("a pairwise score must be a finite number or a boolean", field="score")
    return float(score)


async def record_pairwise_score(
    stores: Stores,
    project_id: str,
    comparative: ComparativeExperiment,
    *,
    group_id: str,
    key: str,
    feedback_id: str,
    run_id: str,
    experiment_id: str,
    score: Any,
    change: Change,
) -> int:
    """Keep one run's score in its group; each other run scored in the group makes
    a preference with it. Returns how many preferences were new."""
    key = check_key_name(key)
    mine = PairwiseScore(feedback_id, run_id, experiment_id, _as_number(score))
    group = await stores.pairwise_scores.put(
        project_id, comparative.id, group_id, key, mine, clock.now()
    )
    made = 0
    for theirs in group:
        if theirs.run_id == mine.run_id:
            continue
        first, second = sorted((mine, theirs), key=lambda s: s.run_id)
        preference_id = str(
            uuid.uuid5(
                PREFERENCE_IDS, f"{comparative.id}/{group_id}/{key}/{first.run_id}/{second.run_id}"
            )
        )
        better, worse = (first, second) if first.score >= second.score else (second, first)
        tied = None
        if better.score == worse.score:
            tied = "good" if better.score >= TIE_THRESHOLD else "bad"
        doc = preference_doc(
            preference_id,
            project_id,
            key,
            (better.run_id, better.experiment_id),
            (worse.run_id, worse.experiment_id),
            tied,
            change,
        )
        doc["comparative_experiment_id"] = comparative.id
        made += await stores.preferences.insert_once(doc)
    return made


@dataclass(frozen=True)
class WinRate:
    """How often ``experiment_id``'s runs were preferred to ``other_experiment_id``'s
    on ``key``: ties count half; ``low``/``high`` bound ``win_rate`` (Wilson)."""

    key: str
    experiment_id: str
    other_experiment_id: str
    wins: int
    losses: int
    ties: int
    n: int
    win_rate: float | None
    low: float | None
    high: float | None


def wilson_interval(successes: float, n: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion of ``successes`` out of ``n``."""
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


async def win_rates(
    stores: Stores,
    project_id: str,
    experiment_ids: list[str],
    *,
    keys: list[str] | None = None,
    confidence: float = 0.95,
) -> list[WinRate]:
    """For each key with preferences and each pair of these experiments (in the
    order given), the first's win rate over the second."""
    ids = list(dict.fromkeys(v.check_uuid(e, "experimentIds") for e in experiment_ids))
    if not 2 <= len(ids) <= MAX_EXPERIMENTS:
        raise BadRequest(
            f"give from 2 to {MAX_EXPERIMENTS} different experiments", field="experimentIds"
        )
    if not 0 < confidence < 1:
        raise BadRequest("confidence must be between 0 and 1, e.g. 0.95", field="confidence")
    for experiment_id in ids:
        if await stores.tracing_projects.get(project_id, experiment_id) is None:
            raise NotFound(f"experiment {experiment_id} not found", field="experimentIds")
    docs = await stores.preferences.between_experiments(
        project_id, ids, keys, MAX_WIN_RATE_PREFERENCES + 1
    )
    if len(docs) > MAX_WIN_RATE_PREFERENCES:
        raise BadRequest(
            f"more than {MAX_WIN_RATE_PREFERENCES} preferences between these experiments: "
            "ask for fewer keys"
        )
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for doc in docs:
        winner, loser = doc["preferred_experiment_id"], doc["other_experiment_id"]
        if winner == loser:
            continue
        outcome = "tie" if doc.get("tied") else "win"
        counts[(doc["key"], winner, loser, outcome)] += 1
    found_keys = sorted({k for k, *_ in counts})
    rows = []
    for key, (a, b) in itertools.product(found_keys, itertools.combinations(ids, 2)):
        wins, losses = counts[(key, a, b, "win")], counts[(key, b, a, "win")]
        ties = counts[(key, a, b, "tie")] + counts[(key, b, a, "tie")]
        n = wins + losses + ties
        rate = low = high = None
        if n:
            rate = (wins + ties / 2) / n
            low, high = wilson_interval(wins + ties / 2, n, confidence)
        rows.append(WinRate(key, a, b, wins, losses, ties, n, rate, low, high))
    return [r for r in rows if r.n]
