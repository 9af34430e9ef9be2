from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.lifecycle.erasure import erasure_receipts
from app.graphql.context import Context
from app.graphql.permissions import IsAdmin
from app.graphql.types.lifecycle import ErasureReceipt


@strawberry.type
class LifecycleQueryMixin:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="The project's erasure receipts (eraseEndUser), newest first.",
    )
    async def erasure_receipts(
        self, info: Info[Context, None], first: int = 20
    ) -> list[ErasureReceipt]:
        ctx = info.context
        records = await erasure_receipts(ctx.stores, ctx.project_id, first)
        return [ErasureReceipt.from_record(r) for r in records]
