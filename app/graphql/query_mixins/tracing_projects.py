from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.errors import BadRequest
from app.graphql.context import Context
from app.graphql.permissions import CanRead
from app.graphql.types.common import Connection
from app.graphql.types.tracing_project import TracingProject


@strawberry.type
class TracingProjectQueryMixin:
    @strawberry.field(
        permission_classes=[CanRead],
        description="Tracing projects (LangSmith's projects), newest first.",
    )
    async def tracing_projects(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TracingProject]:
        ctx = info.context
        page = await ctx.stores.tracing_projects.page(ctx.project_id, first, after)
        return Connection.from_page(page, TracingProject.from_record)

    @strawberry.field(
        permission_classes=[CanRead], description="One tracing project, by id or by name."
    )
    async def tracing_project(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        name: str | None = None,
    ) -> TracingProject | None:
        ctx = info.context
        if (id is None) == (name is None):
            raise BadRequest("give id or name, not both")
        if id is not None:
            found = await ctx.loaders.tracing_projects.load(v.check_uuid(str(id), "id"))
        else:
            assert name is not None
            found = (await ctx.stores.tracing_projects.by_names(ctx.project_id, [name])).get(name)
        return TracingProject.from_record(found) if found else None
