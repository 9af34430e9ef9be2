from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.graphql.context import Context
from app.graphql.permissions import CanRead
from app.graphql.types.evaluation import EvaluationRule


@strawberry.type
class EvaluationQueryMixin:
    @strawberry.field(
        permission_classes=[CanRead],
        description="The project's online evaluation rules (at most 50), oldest first.",
    )
    async def evaluation_rules(self, info: Info[Context, None]) -> list[EvaluationRule]:
        ctx = info.context
        records = await ctx.stores.evaluation_rules.of_project(ctx.project_id)
        return [EvaluationRule.from_record(r) for r in records]

    @strawberry.field(permission_classes=[CanRead], description="A rule; null if not found.")
    async def evaluation_rule(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> EvaluationRule | None:
        ctx = info.context
        record = await ctx.stores.evaluation_rules.get(ctx.project_id, v.check_uuid(str(id), "id"))
        return EvaluationRule.from_record(record) if record else None
