from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.domain.evaluation.rules import (
    backfill,
    create_rule,
    delete_rule,
    set_rule_status,
    update_rule,
)
from app.graphql.context import Context
from app.graphql.inputs.evaluation import EvaluationRuleInput
from app.graphql.permissions import IsAdmin
from app.graphql.types.evaluation import (
    EvaluationBackfill,
    EvaluationRule,
    SavedEvaluationRule,
)


@strawberry.type
class EvaluationMutationMixin:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Create an online evaluation rule: from now on, every run its filter selects "
            "is, once complete, in its sample or not (a hash of rule id and run id, so "
            "samplingRate of the runs), and the sampled runs are scored in the background "
            "and the scores written as feedback by user rule:<id>."
        ),
    )
    async def create_evaluation_rule(
        self, info: Info[Context, None], input: EvaluationRuleInput
    ) -> SavedEvaluationRule:
        ctx = info.context
        saved = await create_rule(
            ctx.stores,
            ctx.settings,
            ctx.services.evaluation.queue,
            ctx.project_id,
            input.name,
            input.to_definition(),
            ctx.require_any().label,
        )
        return SavedEvaluationRule(rule=EvaluationRule.from_record(saved.rule), secret=saved.secret)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Replace a rule's definition: a new version. Runs are evaluated at most once "
            "per version; evaluations still queued under the old one are skipped."
        ),
    )
    async def update_evaluation_rule(
        self, info: Info[Context, None], id: strawberry.ID, input: EvaluationRuleInput
    ) -> SavedEvaluationRule:
        ctx = info.context
        saved = await update_rule(
            ctx.stores,
            ctx.settings,
            ctx.services.evaluation.queue,
            ctx.project_id,
            str(id),
            input.name,
            input.to_definition(),
            ctx.require_any().label,
        )
        return SavedEvaluationRule(rule=EvaluationRule.from_record(saved.rule), secret=saved.secret)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Stop sampling runs; queued evaluations wait until the rule is resumed.",
    )
    async def pause_evaluation_rule(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> EvaluationRule:
        ctx = info.context
        record = await set_rule_status(
            ctx.stores, ctx.services.evaluation.queue, ctx.project_id, str(id), "paused"
        )
        return EvaluationRule.from_record(record)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Resume a paused rule.")
    async def resume_evaluation_rule(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> EvaluationRule:
        ctx = info.context
        record = await set_rule_status(
            ctx.stores, ctx.services.evaluation.queue, ctx.project_id, str(id), "active"
        )
        ctx.services.evaluation.worker.wake()
        return EvaluationRule.from_record(record)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete a rule, its queue and its numbers; the feedback it wrote stays.",
    )
    async def delete_evaluation_rule(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> strawberry.ID:
        ctx = info.context
        await delete_rule(ctx.stores, ctx.services.evaluation.queue, ctx.project_id, str(id))
        return id

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Apply the rule, with the same sampling, to runs that started in [after, "
            "before) (before: now when left out), newest first, at most 20,000 runs a call."
        ),
    )
    async def backfill_evaluation_rule(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        after: datetime,
        before: datetime | None = None,
    ) -> EvaluationBackfill:
        ctx = info.context
        result = await backfill(
            ctx.stores, ctx.services.evaluation.queue, ctx.project_id, str(id), after, before
        )
        return EvaluationBackfill.from_record(result)
