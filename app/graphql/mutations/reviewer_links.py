from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.reviewer_links import create_reviewer_link, revoke_reviewer_link
from app.graphql.context import Context
from app.graphql.permissions import IsAdmin
from app.graphql.types.review import IssuedReviewerLink, ReviewerLink


@strawberry.type
class ReviewerLinkMutationMixin:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Make a signed, expiring link for reviewing one task without an API key "
            "(reviewer: the name reviews are recorded under; expiresIn: seconds, default "
            "7 days). The url is shown once."
        ),
    )
    async def create_reviewer_link(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        reviewer: str | None = None,
        expires_in: int | None = None,
    ) -> IssuedReviewerLink:
        ctx = info.context
        principal = ctx.require("admin")
        issued = await create_reviewer_link(
            ctx.stores,
            ctx.services.reviewer_links,
            ctx.settings,
            principal.project_id,
            str(task_id),
            reviewer=reviewer,
            expires_in=expires_in,
            created_by=principal.label,
        )
        return IssuedReviewerLink.from_issued(issued)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Revoke a reviewer link: it is refused from the next request on.",
    )
    async def revoke_reviewer_link(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ReviewerLink:
        ctx = info.context
        record = await revoke_reviewer_link(ctx.stores, ctx.project_id, str(id))
        return ReviewerLink.from_record(record)
