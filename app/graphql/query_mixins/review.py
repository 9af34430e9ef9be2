from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.domain.reviewer_links import reviewer_identity
from app.domain.tasks.pairs import next_pair
from app.domain.tasks.queue import review_progress
from app.domain.tasks.service import get_task
from app.graphql.context import Context
from app.graphql.permissions import CanRead, CanReadTask, IsAdmin, IsAuthenticated
from app.graphql.types.common import Connection
from app.graphql.types.review import ReviewerLink, ReviewPair, ReviewProgress


@strawberry.type
class ReviewQueryMixin:
    @strawberry.field(
        permission_classes=[CanReadTask],
        description=(
            "A reviewer's progress on a task: runs left for them in the queue, and their "
            "submissions since `since` (default: today, UTC). The reviewer is userId, "
            "else the API key; a reviewer link: its reviewer."
        ),
    )
    async def review_progress(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        user_id: str | None = None,
        since: datetime | None = None,
    ) -> ReviewProgress:
        ctx = info.context
        reviewer, _ = reviewer_identity(ctx.require_any(), user_id)
        record = await review_progress(ctx.stores, ctx.project_id, str(task_id), reviewer, since)
        return ReviewProgress.from_record(record)

    @strawberry.field(
        permission_classes=[CanRead],
        description=(
            "Pairwise review: the next two runs of the task with the same inputs that "
            "this reviewer (userId, else the API key) has not compared on key (default: "
            "the task's name) and has not skipped (skipPairs); null when none is left."
        ),
    )
    async def review_pair(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        key: str | None = None,
        user_id: str | None = None,
        skip_pairs: list[list[strawberry.ID]] | None = None,
    ) -> ReviewPair | None:
        ctx = info.context
        reviewer, _ = reviewer_identity(ctx.require_any(), user_id)
        skip = [[str(r) for r in pair] for pair in skip_pairs or []]
        record = await next_pair(
            ctx.stores, ctx.project_id, str(task_id), reviewer, key=key, skip=skip
        )
        return ReviewPair.from_record(record) if record else None

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="A task's reviewer links, newest first (revoked and expired too).",
    )
    async def reviewer_links(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ReviewerLink]:
        ctx = info.context
        task = await get_task(ctx.stores, ctx.project_id, str(task_id))
        page = await ctx.stores.reviewer_links.page_for_task(ctx.project_id, task.id, first, after)
        return Connection.from_page(page, ReviewerLink.from_record)

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The reviewer link this request is made with; null with an API key.",
    )
    async def current_reviewer_link(self, info: Info[Context, None]) -> ReviewerLink | None:
        ctx = info.context
        scope = ctx.require_any().review
        if scope is None:
            return None
        record = await ctx.stores.reviewer_links.get(ctx.project_id, scope.link_id)
        return ReviewerLink.from_record(record) if record else None
