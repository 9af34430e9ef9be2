from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.domain.auth import create_key
from app.errors import BadRequest, NotFound
from app.graphql.context import Context
from app.graphql.permissions import IsAdmin
from app.graphql.types.admin import ApiKey, CreatedApiKey, Project
from app.graphql.types.enums import Role


@strawberry.input
class ProjectSettingsInput:
    strict_feedback_keys: bool | None = None
    allowed_origins: list[str] | None = strawberry.field(
        default=None, description="Origins such as https://app.example.com"
    )


def _check_origin(origin: str) -> str:
    v.check_text(origin, "allowedOrigins", 300)
    scheme, sep, rest = origin.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
        raise BadRequest(
            f"{origin!r} is not an origin: use scheme://host[:port], with no path",
            field="allowedOrigins",
        )
    return origin.lower()


@strawberry.type
class AdminMutationMixin:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_project(
        self, info: Info[Context, None], input: ProjectSettingsInput
    ) -> Project:
        ctx = info.context
        changes: dict[str, object] = {}
        if input.strict_feedback_keys is not None:
            changes["strict_feedback_keys"] = input.strict_feedback_keys
        if input.allowed_origins is not None:
            changes["allowed_origins"] = [_check_origin(o) for o in input.allowed_origins]
        if not changes:
            raise BadRequest("nothing to update")
        record = await ctx.stores.projects.update(ctx.project_id, changes)
        if record is None:
            raise NotFound("project not found")
        return Project.from_record(record)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Create an API key; its secret is shown once."
    )
    async def create_api_key(
        self, info: Info[Context, None], role: Role, name: str = ""
    ) -> CreatedApiKey:
        ctx = info.context
        v.check_text(name, "name", 200)
        record, secret = await create_key(ctx.stores, ctx.project_id, role.value, name)
        return CreatedApiKey(api_key=ApiKey.from_record(record), secret=secret)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> ApiKey:
        ctx = info.context
        record = await ctx.stores.api_keys.revoke(str(id), ctx.project_id)
        if record is None:
            raise NotFound(f"API key {id} not found")
        ctx.services.key_cache.clear()
        return ApiKey.from_record(record)
