"""The write path of online evaluation: for the runs just written, decide in process
which active rules sample them, and queue one evaluation record per (rule, run).

A run is queued once it is complete (it has outputs or an end time). The decision
reads nothing from the database: the project's active rules are cached
(``cache_seconds``, 5 by default, like key configurations; a change made in this
process is seen at once, in others within the cache time), the filter is matched
in Python and sampling is a hash (app/domain/evaluation/sampling.py). What it costs
is one ``insert_many`` per ingest call, and only when some run was sampled. Queuing
the same (rule, version, run) again, as a run written twice would, changes nothing
(a unique index).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import TTLCache

from app import clock
from app.domain.evaluation.definition import RuleDefinition
from app.domain.evaluation.sampling import is_sampled
from app.store import Stores
from app.store.evaluation_rules import EvaluationRule
from app.store.runs import Run


@dataclass(frozen=True)
class ActiveRule:
    record: EvaluationRule
    definition: RuleDefinition

    @classmethod
    def of(cls, record: EvaluationRule) -> ActiveRule:
        return cls(record, RuleDefinition.from_doc(record.definition))

    @property
    def id(self) -> str:
        return self.record.id

    def samples(self, run: Run) -> bool:
        return (
            is_complete(run)
            and self.definition.filter.matches(run)
            and is_sampled(self.record.id, run.id, self.definition.sampling_rate)
        )


def is_complete(run: Run) -> bool:
    return run.outputs is not None or run.end_time is not None


def evaluation_doc(rule: EvaluationRule, run: Run, now: datetime) -> dict[str, Any]:
    return {
        "_id": str(uuid.uuid4()),
        "project_id": rule.project_id,
        "rule_id": rule.id,
        "version": rule.version,
        "run_id": run.id,
        "run_at": run.start_time,
        "status": "pending",
        "attempts": 0,
        "next_at": now,
        "owner": None,
        "created_at": now,
    }


def sampled_docs(
    rules: Iterable[ActiveRule], runs: Iterable[Run], now: datetime
) -> list[dict[str, Any]]:
    return [
        evaluation_doc(rule.record, run, now) for run in runs for rule in rules if rule.samples(run)
    ]


class EvaluationQueue:
    """A run observer (app/domain/run_events.py) queuing the sampled runs."""

    def __init__(
        self,
        stores: Stores,
        *,
        cache_seconds: float = 5.0,
        on_enqueue: Callable[[], None] = lambda: None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.stores = stores
        self.on_enqueue = on_enqueue
        self.on_change = on_change
        self._cache: TTLCache[str, list[ActiveRule]] = TTLCache(maxsize=10_000, ttl=cache_seconds)

    def forget(self, project_id: str) -> None:
        """Drop the project's cached rules (after a rule is created, edited,
        paused, resumed or deleted in this process): this process's write path and
        worker see the change at once."""
        self._cache.pop(project_id, None)
        self.on_change()

    async def active_rules(self, project_id: str) -> list[ActiveRule]:
        cached = self._cache.get(project_id)
        if cached is not None:
            return cached
        records = await self.stores.evaluation_rules.active(project_id)
        rules = [ActiveRule.of(r) for r in records]
        self._cache[project_id] = rules
        return rules

    async def runs_written(self, project_id: str, runs: list[Run]) -> None:
        complete = [run for run in runs if is_complete(run)]
        if not complete:
            return
        rules = await self.active_rules(project_id)
        if not rules:
            return
        docs = sampled_docs(rules, complete, clock.now())
        if docs and await self.stores.evaluations.enqueue(docs):
            self.on_enqueue()
