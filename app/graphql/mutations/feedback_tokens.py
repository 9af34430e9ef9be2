from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.feedback_question import token_question
from app.domain.feedback_tokens import create_tokens, email_links, revoke_token
from app.graphql.context import Context
from app.graphql.inputs.feedback_tokens import FeedbackTokenInput
from app.graphql.permissions import CanIngest
from app.graphql.types.feedback_tokens import (
    EmailFeedbackLinks,
    FeedbackToken,
    IssuedFeedbackToken,
)


@strawberry.type
class FeedbackTokenMutationMixin:
    @strawberry.mutation(
        permission_classes=[CanIngest],
        description=(
            "Issue presigned feedback tokens (one per run and key) for the widget or "
            "email links. Each token is shown once."
        ),
    )
    async def create_feedback_tokens(
        self, info: Info[Context, None], inputs: list[FeedbackTokenInput]
    ) -> list[IssuedFeedbackToken]:
        ctx = info.context
        principal = ctx.require("ingest")
        issued = await create_tokens(
            ctx.stores,
            ctx.services.feedback_tokens,
            ctx.settings,
            principal.project_id,
            [i.to_request() for i in inputs],
            principal.label,
        )
        return [IssuedFeedbackToken.from_issued(i) for i in issued]

    @strawberry.mutation(
        permission_classes=[CanIngest],
        description=(
            "Issue a token and render its email links: one per answer its key offers "
            "(thumbs, a scale, categories)."
        ),
    )
    async def create_email_feedback_links(
        self, info: Info[Context, None], input: FeedbackTokenInput
    ) -> EmailFeedbackLinks:
        ctx = info.context
        principal = ctx.require("ingest")
        [issued] = await create_tokens(
            ctx.stores,
            ctx.services.feedback_tokens,
            ctx.settings,
            principal.project_id,
            [input.to_request()],
            principal.label,
        )
        question = await token_question(ctx.stores, issued.record)
        links = email_links(ctx.settings, issued.token, question)
        return EmailFeedbackLinks.build(links, issued.record)

    @strawberry.mutation(
        permission_classes=[CanIngest],
        description="Revoke a feedback token: it is refused from now on.",
    )
    async def revoke_feedback_token(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> FeedbackToken:
        ctx = info.context
        record = await revoke_token(ctx.stores, ctx.project_id, str(id))
        return FeedbackToken.from_record(record)
