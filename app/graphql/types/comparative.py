from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.domain import comparative_experiments
from app.domain.comparative_experiments import WinRate
from app.graphql.context import Context
from app.store.comparative import ComparativeExperiment as ComparativeRecord


@strawberry.type(
    description="How often experimentId's runs were preferred to otherExperimentId's on key: "
    "winRate = (wins + ties / 2) / n, with low and high its Wilson score interval."
)
class ExperimentWinRate:
    key: str
    experiment_id: strawberry.ID
    other_experiment_id: strawberry.ID
    wins: int
    losses: int
    ties: int
    n: int
    win_rate: float | None
    low: float | None
    high: float | None

    @classmethod
    def from_record(cls, r: WinRate) -> ExperimentWinRate:
        return cls(
            key=r.key,
            experiment_id=strawberry.ID(r.experiment_id),
            other_experiment_id=strawberry.ID(r.other_experiment_id),
            wins=r.wins,
            losses=r.losses,
            ties=r.ties,
            n=r.n,
            win_rate=r.win_rate,
            low=r.low,
            high=r.high,
        )


@strawberry.type(description="Experiments on one dataset judged pairwise (evaluate_comparative).")
class ComparativeExperiment:
    record: strawberry.Private[ComparativeRecord]
    id: strawberry.ID
    name: str
    description: str | None
    experiment_ids: list[strawberry.ID]
    reference_dataset_id: strawberry.ID
    created_at: datetime

    @classmethod
    def from_record(cls, r: ComparativeRecord) -> ComparativeExperiment:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            name=r.name,
            description=r.description,
            experiment_ids=[strawberry.ID(e) for e in r.experiment_ids],
            reference_dataset_id=strawberry.ID(r.reference_dataset_id),
            created_at=r.created_at,
        )

    @strawberry.field(description="Win rates between its experiments, from all preferences.")
    async def win_rates(
        self,
        info: Info[Context, None],
        keys: list[str] | None = None,
        confidence: float = 0.95,
    ) -> list[ExperimentWinRate]:
        ctx = info.context
        found = await comparative_experiments.win_rates(
            ctx.stores, ctx.project_id, self.record.experiment_ids, keys=keys, confidence=confidence
        )
        return [ExperimentWinRate.from_record(r) for r in found]
