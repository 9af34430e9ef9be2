from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.feedback import Change
from app.domain.preferences import log_preference
from app.graphql.context import Context
from app.graphql.permissions import CanIngest
from app.graphql.types.preferences import Preference, Tie


@strawberry.type
class PreferenceMutationMixin:
    @strawberry.mutation(
        permission_classes=[CanIngest],
        description=(
            "Record that, on key, preferredRunId was preferred to otherRunId; with tied, "
            "that neither was (both GOOD or both BAD)."
        ),
    )
    async def log_preference(
        self,
        info: Info[Context, None],
        key: str,
        preferred_run_id: strawberry.ID,
        other_run_id: strawberry.ID,
        tied: Tie | None = None,
        user_id: str | None = None,
        comment: str | None = None,
    ) -> Preference:
        ctx = info.context
        record = await log_preference(
            ctx.stores,
            ctx.project_id,
            key=key,
            preferred_run_id=str(preferred_run_id),
            other_run_id=str(other_run_id),
            tied=tied.value if tied else None,
            user_id=user_id,
            comment=comment,
            change=Change(by=ctx.require_any().label, via="graphql"),
        )
        return Preference.from_record(record)
