from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.domain.auth import create_key, revoke_key
from app.domain.projects import update_project
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
    retention_days: int | None = strawberry.field(
        default=None,
        description="Keep runs, feedback, signals, preferences and task submissions this "
        "many days (0: forever, the default). Statistics over time are kept.",
    )
    langfuse_public_scores: bool | None = strawberry.field(
        default=None,
        description="Let Langfuse's browser SDK create scores with the public key alone "
        "(Authorization: Bearer pk-lf-...), from allowedOrigins only; off by default. "
        "Presigned feedback tokens are the safer way.",
    )


@strawberry.type
class AdminMutationMixin:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_project(
        self, info: Info[Context, None], input: ProjectSettingsInput
    ) -> Project:
        ctx = info.context
        record = await update_project(
            ctx.stores,
            ctx.project_id,
            strict_feedback_keys=input.strict_feedback_keys,
            allowed_origins=input.allowed_origins,
            retention_days=input.retention_days,
            langfuse_public_scores=input.langfuse_public_scores,
        )
        return Project.from_record(record)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Create an API key; its secret is shown once."
    )
    async def create_api_key(
        self,
        info: Info[Context, None],
        role: Role,
        name: str = "",
        langfuse: Annotated[
            bool,
            strawberry.argument(
                description="A Langfuse-style key pair for the Langfuse SDKs: the "
                "key's publicKey and its secret (sk-lf-...)."
            ),
        ] = False,
    ) -> CreatedApiKey:
        ctx = info.context
        v.check_text(name, "name", 200)
        record, secret = await create_key(
            ctx.stores, ctx.project_id, role.value, name, langfuse=langfuse
        )
        return CreatedApiKey(api_key=ApiKey.from_record(record), secret=secret)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> ApiKey:
        ctx = info.context
        record = await revoke_key(
            ctx.stores, str(id), project_id=ctx.project_id, cache=ctx.services.key_cache
        )
        return ApiKey.from_record(record)
