from __future__ import annotations

import asyncio

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.domain.autofeedback.calibration import calibrate
from app.graphql.context import Context
from app.graphql.permissions import CanRead, IsAdmin
from app.graphql.types.autofeedback import (
    AutoFeedbackCalibration,
    AutoFeedbackJob,
    AutoFeedbackMethod,
    KeyJudge,
)
from app.graphql.types.common import Connection


@strawberry.type
class AutoFeedbackQueryMixin:
    @strawberry.field(
        permission_classes=[CanRead],
        description="An automatic feedback job, with its progress; null if not found.",
    )
    async def auto_feedback_job(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> AutoFeedbackJob | None:
        ctx = info.context
        job = await ctx.stores.autofeedback_jobs.get(ctx.project_id, _uuid(str(id)))
        return await AutoFeedbackJob.load(ctx.stores, job) if job else None

    @strawberry.field(
        permission_classes=[CanRead], description="Automatic feedback jobs, newest first."
    )
    async def auto_feedback_jobs(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[AutoFeedbackJob]:
        ctx = info.context
        page = await ctx.stores.autofeedback_jobs.page(ctx.project_id, first, after)
        loaded = {
            job.record.id: job
            for job in await asyncio.gather(
                *(AutoFeedbackJob.load(ctx.stores, r) for r in page.items)
            )
        }
        return Connection.from_page(page, lambda r: loaded[r.id])

    @strawberry.field(
        permission_classes=[IsAdmin],
        description=(
            "Predict a held-out share of the runs people labelled (for a task, or a key) "
            "from the rest, and compare per field: exact agreement for categorical and "
            "boolean fields, mean absolute error for numbers. The split is deterministic "
            "(seed), so LLM and NEAREST_NEIGHBOUR are measured on the same runs. At most "
            "100 runs are held out. Admin only: method LLM calls the LLM once per run."
        ),
    )
    async def auto_feedback_calibration(
        self,
        info: Info[Context, None],
        method: AutoFeedbackMethod,
        task_id: strawberry.ID | None = None,
        key: str | None = None,
        holdout: float = 0.2,
        seed: int = 0,
        examples: int = 8,
    ) -> AutoFeedbackCalibration:
        ctx = info.context
        report = await calibrate(
            ctx.stores,
            ctx.settings,
            ctx.services.autofeedback.llm,
            ctx.project_id,
            task_id=_uuid(str(task_id), "taskId") if task_id is not None else None,
            key=key,
            method=method.value,
            holdout=holdout,
            seed=seed,
            examples=examples,
        )
        return AutoFeedbackCalibration.from_record(report)

    @strawberry.field(
        permission_classes=[CanRead],
        description="The judge instructions of a feedback key; null if none were set.",
    )
    async def key_judge(self, info: Info[Context, None], key: str) -> KeyJudge | None:
        ctx = info.context
        record = await ctx.stores.key_judges.get(ctx.project_id, key)
        return KeyJudge.from_record(record) if record else None


def _uuid(value: str, field: str = "id") -> str:
    return v.check_uuid(value, field)
