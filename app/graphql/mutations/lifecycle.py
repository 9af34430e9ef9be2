from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.lifecycle.erasure import erase_end_user
from app.domain.lifecycle.runs import delete_runs
from app.errors import BadRequest
from app.graphql.context import Context
from app.graphql.inputs.runs import RunFilter
from app.graphql.permissions import IsAdmin
from app.graphql.types.lifecycle import ErasureReceipt, RunDeletion


@strawberry.type
class LifecycleMutationMixin:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Erase everything this project holds for an end user id: their "
        "feedback (tombstones without content remain), signals, preferences, task "
        "submissions, tokens and reviewer links issued for them, their reviews and "
        "leases; with includeRuns, the runs they made too. Statistics are recomputed and "
        "webhook deliveries carrying their data scrubbed. Returns the receipt (no user data).",
    )
    async def erase_end_user(
        self, info: Info[Context, None], user_id: str, include_runs: bool = False
    ) -> ErasureReceipt:
        ctx = info.context
        receipt = await erase_end_user(
            ctx.stores,
            ctx.project_id,
            user_id,
            include_runs=include_runs,
            by=ctx.require_any().label,
        )
        return ErasureReceipt.from_record(receipt)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Delete runs by id or by filter (one of them), with their feedback, "
        "signals, preferences, tokens, task submissions and review state. Idempotent: "
        "runs already gone count 0.",
    )
    async def delete_runs(
        self,
        info: Info[Context, None],
        ids: list[strawberry.ID] | None = None,
        filter: RunFilter | None = None,
    ) -> RunDeletion:
        ctx = info.context
        query = None
        if filter is not None:
            if (filter.feedback_key, filter.min_score, filter.max_score) != (None, None, None):
                raise BadRequest(
                    "deleteRuns filters by run fields only, not by feedback", field="filter"
                )
            query = filter.to_query()
            if query.to_mongo(ctx.project_id) == {"project_id": ctx.project_id}:
                raise BadRequest(
                    "an empty filter would delete every run; give at least one condition",
                    field="filter",
                )
        deletion = await delete_runs(
            ctx.stores,
            ctx.project_id,
            ids=[str(i) for i in ids] if ids is not None else None,
            query=query,
        )
        return RunDeletion.from_deletion(deletion)
