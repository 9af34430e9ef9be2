from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.domain.tasks.agreement import task_agreement
from app.domain.tasks.queue import review_queue
from app.domain.tasks.service import get_task
from app.graphql.context import Context
from app.graphql.permissions import CanRead, CanReadTaskById
from app.graphql.types.common import Connection
from app.graphql.types.tasks import FeedbackTask, ReviewQueueItem, TaskAgreement, TaskSubmission


@strawberry.type
class FeedbackTaskQueryMixin:
    @strawberry.field(permission_classes=[CanRead], description="Feedback tasks, newest first.")
    async def feedback_tasks(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[FeedbackTask]:
        ctx = info.context
        page = await ctx.stores.feedback_tasks.page(ctx.project_id, first, after)
        return Connection.from_page(page, FeedbackTask.from_record)

    @strawberry.field(
        permission_classes=[CanReadTaskById],
        description="A feedback task (a reviewer link reads only its own).",
    )
    async def feedback_task(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> FeedbackTask | None:
        ctx = info.context
        record = await ctx.stores.feedback_tasks.get(ctx.project_id, v.check_uuid(str(id), "id"))
        return FeedbackTask.from_record(record) if record else None

    @strawberry.field(
        permission_classes=[CanRead],
        description="Submissions to a task, newest first, each with its schema version.",
    )
    async def task_submissions(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        run_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TaskSubmission]:
        ctx = info.context
        task = await get_task(ctx.stores, ctx.project_id, str(task_id))
        run = v.check_uuid(str(run_id), "runId") if run_id is not None else None
        page = await ctx.stores.task_submissions.page(ctx.project_id, task.id, run, first, after)
        return Connection.from_page(page, TaskSubmission.from_record)

    @strawberry.field(
        permission_classes=[CanRead],
        description=(
            "Runs matching the task's selector that still need review, oldest first. "
            "With reviewer, leaves out the runs that reviewer has reviewed."
        ),
    )
    async def review_queue(
        self,
        info: Info[Context, None],
        task_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        reviewer: str | None = None,
    ) -> Connection[ReviewQueueItem]:
        ctx = info.context
        page = await review_queue(
            ctx.stores, ctx.project_id, str(task_id), first, after, reviewer=reviewer
        )
        return Connection.from_page(page, ReviewQueueItem.from_entry)

    @strawberry.field(
        permission_classes=[CanRead],
        description="Agreement between reviewers, per field, over runs with several reviews.",
    )
    async def task_agreement(
        self, info: Info[Context, None], task_id: strawberry.ID
    ) -> TaskAgreement:
        ctx = info.context
        record = await task_agreement(ctx.stores, ctx.project_id, str(task_id))
        return TaskAgreement.from_record(record)
