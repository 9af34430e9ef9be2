from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from app.domain.feedback import Change
from app.domain.missing import MISSING
from app.domain.reviewer_links import check_run_handed_to, reviewer_identity
from app.domain.tasks import service
from app.domain.tasks.queue import claim_review, release_review
from app.graphql.context import Context
from app.graphql.permissions import CanReviewTask, IsAdmin
from app.graphql.scalars import JSON
from app.graphql.types.tasks import FeedbackTask, ReviewClaim, TaskFeedbackResult


def _change(ctx: Context) -> Change:
    return Change(by=ctx.require_any().label, via="graphql")


def _given(value: Any) -> Any:
    return MISSING if value is strawberry.UNSET else value


@strawberry.type
class FeedbackTaskMutationMixin:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Create a feedback task. schema: a JSON Schema (Draft 2020-12) for an object; "
            "its numeric and boolean top-level fields become feedback keys "
            "'<name>.<field>'."
        ),
    )
    async def create_feedback_task(
        self,
        info: Info[Context, None],
        name: str,
        schema: JSON,
        instructions: str | None = None,
        run_tag_selector: list[str] | None = None,
        reviews_required: int = 1,
        lease_seconds: int = service.DEFAULT_LEASE_SECONDS,
    ) -> FeedbackTask:
        ctx = info.context
        record = await service.create_task(
            ctx.stores,
            ctx.project_id,
            name=name,
            schema=schema,
            instructions=instructions,
            run_tag_selector=run_tag_selector,
            reviews_required=reviews_required,
            lease_seconds=lease_seconds,
        )
        return FeedbackTask.from_record(record)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Change a task; a changed schema becomes a new version.",
    )
    async def update_feedback_task(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        schema: JSON | None = strawberry.UNSET,
        instructions: str | None = strawberry.UNSET,
        run_tag_selector: list[str] | None = strawberry.UNSET,
        reviews_required: int | None = strawberry.UNSET,
        lease_seconds: int | None = strawberry.UNSET,
    ) -> FeedbackTask:
        ctx = info.context
        record = await service.update_task(
            ctx.stores,
            ctx.project_id,
            str(id),
            schema=_given(schema),
            instructions=_given(instructions),
            run_tag_selector=_given(run_tag_selector),
            reviews_required=_given(reviews_required),
            lease_seconds=_given(lease_seconds),
        )
        return FeedbackTask.from_record(record)

    @strawberry.mutation(
        permission_classes=[CanReviewTask],
        description=(
            "Answer a feedback task for a run. values are checked against the task's "
            "schema; on failure the error's `errors` extension lists every failing field "
            "(JSON path, message). A reviewer (userId, else the API key) who submits "
            "again replaces their answers. A reviewer link submits as its reviewer, for "
            "runs it claimed."
        ),
    )
    async def submit_task_feedback(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        run_id: strawberry.ID,
        values: JSON,
        comment: str | None = None,
        user_id: str | None = None,
    ) -> TaskFeedbackResult:
        ctx = info.context
        principal = ctx.require_any()
        _, user_id = reviewer_identity(principal, user_id)
        await check_run_handed_to(ctx.stores, principal, str(task_id), str(run_id))
        result = await service.submit_task_feedback(
            ctx.stores,
            ctx.project_id,
            str(task_id),
            str(run_id),
            values,
            _change(ctx),
            comment=comment,
            user_id=user_id,
        )
        return TaskFeedbackResult.from_result(result)

    @strawberry.mutation(
        permission_classes=[CanReviewTask],
        description=(
            "Lease the oldest run that still needs review to this reviewer (userId, else "
            "the API key; a reviewer link: its reviewer); null when none is left for "
            "them. skipRunIds: runs the reviewer passed over, never handed to them by "
            "this claim (a lease they hold on one is released)."
        ),
    )
    async def claim_review(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        user_id: str | None = None,
        skip_run_ids: list[strawberry.ID] | None = None,
    ) -> ReviewClaim | None:
        ctx = info.context
        reviewer, _ = reviewer_identity(ctx.require_any(), user_id)
        skip = [str(r) for r in skip_run_ids or []]
        claim = await claim_review(ctx.stores, ctx.project_id, str(task_id), reviewer, skip)
        return ReviewClaim.from_claim(claim) if claim else None

    @strawberry.mutation(
        permission_classes=[CanReviewTask],
        description="Give a claimed run back before its lease ends; false if not held.",
    )
    async def release_review(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        run_id: strawberry.ID,
        user_id: str | None = None,
    ) -> bool:
        ctx = info.context
        reviewer, _ = reviewer_identity(ctx.require_any(), user_id)
        return await release_review(ctx.stores, ctx.project_id, str(task_id), str(run_id), reviewer)
