"""A rule's numbers: how many runs it sampled, evaluated, skipped, failed and has
pending; its mean score over time; and, where people also gave feedback on the
same runs and key, how far it agrees with them over time (a judge drifting away
from people shows as falling agreement).

Agreement, per run scored by both: the rule's score and the mean of people's live
scores on the key (booleans as 1 and 0, sources other than MODEL) are each read as
positive, negative or neither by the key's one rule (app/domain/analytics/rules.py:
a boolean key's threshold is 0.5, a ranged key's the middle of its range, an
unregistered key's 0.5 while its scores are all 0/1, else 0); ``agreement`` is the
share of runs where both say the same, ``mean_absolute_difference`` the mean
distance between the two numbers.

Over time, runs are bucketed by their start time, so a backfill shows the past as
it was. Read from the rule's newest ``MAX_STATS_RUNS`` scored runs in the window
(``truncated`` says when there were more).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from app.domain.analytics.rules import load_rules
from app.domain.analytics.windows import floor
from app.domain.evaluation.definition import RuleDefinition
from app.store import Stores
from app.store.evaluation_rules import EvaluationRule
from app.store.evaluations import ScoredRun
from app.store.feedback import Feedback

MAX_STATS_RUNS = 20_000
RUN_BATCH = 500


@dataclass(frozen=True)
class RuleCounts:
    sampled: int  # every evaluation queued, whatever became of it
    evaluated: int
    skipped_budget: int
    skipped_other: int  # superseded by an edit, or a check that did not apply
    failed: int
    pending: int  # queued or being evaluated

    @classmethod
    def from_states(cls, states: dict[str, int]) -> RuleCounts:
        skipped = {k: n for k, n in states.items() if k.startswith("skipped:")}
        return cls(
            sampled=sum(states.values()),
            evaluated=states.get("done", 0),
            skipped_budget=skipped.get("skipped:budget", 0),
            skipped_other=sum(n for k, n in skipped.items() if k != "skipped:budget"),
            failed=states.get("failed", 0),
            pending=states.get("pending", 0) + states.get("running", 0),
        )


@dataclass(frozen=True)
class Quality:
    evaluated: int
    mean_score: float | None
    compared: int  # runs scored by the rule and by people
    people_mean: float | None  # people's mean score on those runs
    agreement: float | None
    mean_absolute_difference: float | None


@dataclass(frozen=True)
class SeriesPoint:
    time: datetime
    quality: Quality


@dataclass(frozen=True)
class QualityReport:
    overall: Quality
    series: list[SeriesPoint]
    truncated: bool


async def rule_counts(stores: Stores, rule_id: str) -> RuleCounts:
    return RuleCounts.from_states(await stores.evaluations.counts(rule_id))


def _person(record: Feedback, key: str) -> float | None:
    """A person's score on the key; None for anything else (a model's, a rule's)."""
    if record.key != key or record.retracted or record.source_type == "model":
        return None
    if (record.user_id or "").startswith("rule:"):
        return None
    if isinstance(record.score, bool | int | float):
        return float(record.score)
    return None


async def people_means(
    stores: Stores, project_id: str, key: str, run_ids: list[str]
) -> dict[str, float]:
    """Per run, the mean of people's live scores on the key."""
    scores: dict[str, list[float]] = defaultdict(list)
    for start in range(0, len(run_ids), RUN_BATCH):
        for record in await stores.feedback.for_runs(
            project_id, run_ids[start : start + RUN_BATCH]
        ):
            score = _person(record, key)
            if score is not None:
                scores[record.run_id].append(score)
    return {run_id: sum(values) / len(values) for run_id, values in scores.items()}


class _Tally:
    def __init__(self) -> None:
        self.n = 0
        self.total = 0.0
        self.compared = 0
        self.people = 0.0
        self.agreed = 0
        self.distance = 0.0

    def quality(self) -> Quality:
        compared = self.compared
        return Quality(
            evaluated=self.n,
            mean_score=self.total / self.n if self.n else None,
            compared=compared,
            people_mean=self.people / compared if compared else None,
            agreement=self.agreed / compared if compared else None,
            mean_absolute_difference=self.distance / compared if compared else None,
        )


async def rule_quality(
    stores: Stores,
    rule: EvaluationRule,
    since: datetime | None,
    until: datetime | None,
    bucket: str | None = None,
) -> QualityReport:
    """The rule's mean score and agreement with people over runs that started in
    [since, until), overall and (with ``bucket``: hour or day) per bucket."""
    definition = RuleDefinition.from_doc(rule.definition)
    key = definition.key or ""
    scored: list[ScoredRun] = await stores.evaluations.scored(
        rule.id, since, until, MAX_STATS_RUNS + 1
    )
    truncated = len(scored) > MAX_STATS_RUNS
    scored = scored[:MAX_STATS_RUNS]
    people = await people_means(stores, rule.project_id, key, [s.run_id for s in scored])
    verdict = (await load_rules(stores, rule.project_id, [key]))[key]
    overall = _Tally()
    buckets: dict[datetime, _Tally] = defaultdict(_Tally)
    for item in scored:
        tallies = [overall] + ([buckets[floor(item.run_at, bucket)]] if bucket else [])
        theirs = people.get(item.run_id)
        for tally in tallies:
            tally.n += 1
            tally.total += item.score
            if theirs is not None:
                tally.compared += 1
                tally.people += theirs
                tally.distance += abs(item.score - theirs)
                tally.agreed += verdict.polarity(item.score) == verdict.polarity(theirs)
    series = [SeriesPoint(t, buckets[t].quality()) for t in sorted(buckets)]
    return QualityReport(overall.quality(), series, truncated)
