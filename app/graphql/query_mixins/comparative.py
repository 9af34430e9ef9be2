from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import comparative_experiments
from app.domain import validation as v
from app.graphql.context import Context
from app.graphql.permissions import CanRead
from app.graphql.types.comparative import ComparativeExperiment, ExperimentWinRate


@strawberry.type
class ComparativeQueryMixin:
    @strawberry.field(permission_classes=[CanRead], description="One comparative experiment.")
    async def comparative_experiment(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ComparativeExperiment | None:
        ctx = info.context
        found = await ctx.stores.comparative_experiments.get(
            ctx.project_id, v.check_uuid(str(id), "id")
        )
        return ComparativeExperiment.from_record(found) if found else None

    @strawberry.field(
        permission_classes=[CanRead],
        description="Per key and pair of these experiments (in the order given), the first's "
        "win rate over the second from the preferences between their runs (pairwise "
        "evaluators' and people's), with a Wilson interval at `confidence`. Pairs with no "
        "preferences are left out.",
    )
    async def experiment_win_rates(
        self,
        info: Info[Context, None],
        experiment_ids: list[strawberry.ID],
        keys: list[str] | None = None,
        confidence: float = 0.95,
    ) -> list[ExperimentWinRate]:
        ctx = info.context
        found = await comparative_experiments.win_rates(
            ctx.stores,
            ctx.project_id,
            [str(i) for i in experiment_ids],
            keys=keys,
            confidence=confidence,
        )
        return [ExperimentWinRate.from_record(r) for r in found]
