from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.domain.autofeedback.jobs import DEFAULT_EXAMPLES, cancel_job, start_job
from app.domain.autofeedback.judges import set_key_judge
from app.errors import BadRequest
from app.graphql.context import Context
from app.graphql.inputs.runs import RunFilter
from app.graphql.permissions import IsAdmin
from app.graphql.types.autofeedback import AutoFeedbackJob, AutoFeedbackMethod, KeyJudge


@strawberry.type
class AutoFeedbackMutationMixin:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Label, in the background, up to `limit` runs that have no label yet on a task "
            "(taskId) or a feedback key (key), learning from the labels people gave. "
            "LLM: AutoFeedbackICL with `examples` examples per prompt (needs "
            "PLAUDIT_LLM_BASE_URL and PLAUDIT_LLM_MODEL). NEAREST_NEIGHBOUR: the label of "
            "the most similar labelled run, no LLM. Labels are stored as feedback of source "
            "MODEL by reviewer model:<model>. Follow it with autoFeedbackJob(id)."
        ),
    )
    async def start_auto_feedback(
        self,
        info: Info[Context, None],
        limit: int,
        task_id: strawberry.ID | None = None,
        key: str | None = None,
        run_filter: RunFilter | None = None,
        method: AutoFeedbackMethod = AutoFeedbackMethod.LLM,
        examples: int = DEFAULT_EXAMPLES,
    ) -> AutoFeedbackJob:
        ctx = info.context
        run_filter = run_filter or RunFilter()
        if run_filter.feedback_key is not None or (
            run_filter.min_score is not None or run_filter.max_score is not None
        ):
            raise BadRequest(
                "runFilter: feedbackKey, minScore and maxScore are not supported here",
                field="runFilter",
            )
        job = await start_job(
            ctx.stores,
            ctx.settings,
            ctx.project_id,
            task_id=v.check_uuid(str(task_id), "taskId") if task_id is not None else None,
            key=key,
            run_filter=run_filter.to_query(),
            limit=limit,
            method=method.value,
            examples=examples,
            created_by=ctx.require_any().label,
        )
        ctx.services.autofeedback.wake()
        return await AutoFeedbackJob.load(ctx.stores, job)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Cancel a queued or running job: it stops after the runs in flight, whose "
            "predictions are dropped. A finished job is returned unchanged."
        ),
    )
    async def cancel_auto_feedback_job(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> AutoFeedbackJob:
        ctx = info.context
        job = await cancel_job(ctx.stores, ctx.project_id, str(id))
        return await AutoFeedbackJob.load(ctx.stores, job)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Set the instructions the model judge of a registered feedback key follows "
            "(what the score means, how to give it). Without them the key's description "
            "is used."
        ),
    )
    async def set_key_judge(
        self, info: Info[Context, None], key: str, instructions: str
    ) -> KeyJudge:
        ctx = info.context
        record = await set_key_judge(ctx.stores, ctx.project_id, key, instructions)
        return KeyJudge.from_record(record)
