from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.feedback_keys import KeyConfig, delete_key, register_key
from app.graphql.context import Context
from app.graphql.inputs.feedback import FeedbackKeyInput
from app.graphql.permissions import IsAdmin
from app.graphql.types.admin import FeedbackKey


@strawberry.type
class FeedbackKeyMutationMixin:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Declare (or change) what a key's scores mean; later feedback is checked.",
    )
    async def register_feedback_key(
        self, info: Info[Context, None], input: FeedbackKeyInput
    ) -> FeedbackKey:
        ctx = info.context
        config = KeyConfig(
            kind=input.kind.value,
            min=input.min,
            max=input.max,
            categories=[(c.value, c.label) for c in input.categories or []],
            higher_is_better=input.higher_is_better,
            description=input.description,
            enforced=input.enforced,
        )
        record = await register_key(ctx.stores, ctx.project_id, input.key, config)
        return FeedbackKey.from_record(record)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def delete_feedback_key(self, info: Info[Context, None], key: str) -> str:
        ctx = info.context
        await delete_key(ctx.stores, ctx.project_id, key)
        return key
