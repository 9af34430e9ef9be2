from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.inputs.preferences import PreferenceFilter
from app.graphql.permissions import CanRead
from app.graphql.types.common import Connection
from app.graphql.types.preferences import Preference


@strawberry.type
class PreferenceQueryMixin:
    @strawberry.field(permission_classes=[CanRead], description="Preferences, newest first.")
    async def preferences(
        self,
        info: Info[Context, None],
        filter: PreferenceFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Preference]:
        ctx = info.context
        query = (filter or PreferenceFilter()).to_query()
        page = await ctx.stores.preferences.page(ctx.project_id, query, first, after)
        return Connection.from_page(page, Preference.from_record)
