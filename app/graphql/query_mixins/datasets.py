from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import experiments
from app.domain import validation as v
from app.errors import BadRequest
from app.graphql.context import Context
from app.graphql.permissions import CanRead
from app.graphql.types.common import Connection
from app.graphql.types.dataset import Dataset, ExperimentComparison

MAX_COMPARED_EXAMPLES = 500


@strawberry.type
class DatasetQueryMixin:
    @strawberry.field(permission_classes=[CanRead], description="Datasets, newest first.")
    async def datasets(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Dataset]:
        ctx = info.context
        page = await ctx.stores.datasets.page(ctx.project_id, first, after)
        return Connection.from_page(page, Dataset.from_record)

    @strawberry.field(permission_classes=[CanRead], description="One dataset, by id or by name.")
    async def dataset(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        name: str | None = None,
    ) -> Dataset | None:
        ctx = info.context
        if (id is None) == (name is None):
            raise BadRequest("give id or name, not both")
        if id is not None:
            found = await ctx.stores.datasets.get(ctx.project_id, v.check_uuid(str(id), "id"))
        else:
            assert name is not None
            found = await ctx.stores.datasets.by_name(ctx.project_id, name)
        return Dataset.from_record(found) if found else None

    @strawberry.field(
        permission_classes=[CanRead],
        description="Experiments side by side: per feedback key each one's mean, p50 and pass "
        "rate (scores >= passThreshold; a boolean counts as 1 or 0), and per example the "
        "outputs and scores, the examples where they disagree most first.",
    )
    async def experiment_comparison(
        self,
        info: Info[Context, None],
        experiment_ids: list[strawberry.ID],
        pass_threshold: float = experiments.DEFAULT_PASS_THRESHOLD,
        examples_first: int = 50,
    ) -> ExperimentComparison:
        if not 0 <= examples_first <= MAX_COMPARED_EXAMPLES:
            raise BadRequest(
                f"examplesFirst must be between 0 and {MAX_COMPARED_EXAMPLES}",
                field="examplesFirst",
            )
        ctx = info.context
        found = await experiments.compare(
            ctx.stores, ctx.project_id, [str(i) for i in experiment_ids], threshold=pass_threshold
        )
        return ExperimentComparison.from_record(found, examples_first)
