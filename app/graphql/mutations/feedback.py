from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.feedback import Change, create_feedback, delete_feedback, update_feedback
from app.graphql.context import Context
from app.graphql.inputs.feedback import FeedbackInput, FeedbackUpdateInput
from app.graphql.permissions import CanIngest
from app.graphql.types.feedback import Feedback


def _change(ctx: Context) -> Change:
    return Change(by=ctx.require_any().label, via="graphql")


@strawberry.type
class FeedbackMutationMixin:
    @strawberry.mutation(
        permission_classes=[CanIngest],
        description="Record feedback. With userId, an upsert on (run, key, user).",
    )
    async def create_feedback(self, info: Info[Context, None], input: FeedbackInput) -> Feedback:
        ctx = info.context
        record, _ = await create_feedback(
            ctx.stores, ctx.project_id, input.to_write(), _change(ctx)
        )
        return Feedback.from_record(record)

    @strawberry.mutation(permission_classes=[CanIngest])
    async def update_feedback(
        self, info: Info[Context, None], id: strawberry.ID, input: FeedbackUpdateInput
    ) -> Feedback:
        ctx = info.context
        record = await update_feedback(
            ctx.stores, ctx.project_id, str(id), input.to_write(), _change(ctx)
        )
        return Feedback.from_record(record)

    @strawberry.mutation(
        permission_classes=[CanIngest],
        description="Delete feedback. A deleted record never comes back, even if re-sent.",
    )
    async def delete_feedback(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        record = await delete_feedback(ctx.stores, ctx.project_id, str(id), _change(ctx))
        return strawberry.ID(record.id)
