from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.runs import ingest_runs
from app.graphql.context import Context
from app.graphql.inputs.runs import RunInput
from app.graphql.permissions import CanIngest
from app.graphql.types.run import Run


@strawberry.type
class RunMutationMixin:
    @strawberry.mutation(
        permission_classes=[CanIngest],
        description="Create or complete runs, upserting by their client-chosen id.",
    )
    async def ingest_runs(self, info: Info[Context, None], runs: list[RunInput]) -> list[Run]:
        ctx = info.context
        records = await ingest_runs(ctx.stores, ctx.project_id, [r.to_write() for r in runs])
        return [Run.from_record(r) for r in records]
