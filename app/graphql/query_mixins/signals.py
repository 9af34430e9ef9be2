from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.inputs.signals import SignalFilter
from app.graphql.permissions import CanRead
from app.graphql.types.common import Connection
from app.graphql.types.signals import Signal


@strawberry.type
class SignalQueryMixin:
    @strawberry.field(permission_classes=[CanRead], description="Implicit signals, newest first.")
    async def signals(
        self,
        info: Info[Context, None],
        filter: SignalFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Signal]:
        ctx = info.context
        query = (filter or SignalFilter()).to_query()
        page = await ctx.stores.signals.page(ctx.project_id, query, first, after)
        return Connection.from_page(page, Signal.from_record)
