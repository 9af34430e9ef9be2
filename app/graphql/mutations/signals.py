from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.feedback import Change
from app.domain.signals import record_signal
from app.graphql.context import Context
from app.graphql.permissions import CanIngest
from app.graphql.scalars import JSON
from app.graphql.types.signals import Signal, SignalKind


@strawberry.type
class SignalMutationMixin:
    @strawberry.mutation(
        permission_classes=[CanIngest],
        description="Record what a user did with a run's output. EDIT needs editedOutput.",
    )
    async def record_signal(
        self,
        info: Info[Context, None],
        run_id: strawberry.ID,
        kind: SignalKind,
        edited_output: JSON | None = None,
        user_id: str | None = None,
    ) -> Signal:
        ctx = info.context
        record = await record_signal(
            ctx.stores,
            ctx.project_id,
            str(run_id),
            kind.value,
            edited_output=edited_output,
            user_id=user_id,
            change=Change(by=ctx.require_any().label, via="graphql"),
        )
        return Signal.from_record(record)
