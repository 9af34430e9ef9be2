from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.scalars import JSON
from app.graphql.types.run import Run
from app.store.signals import Signal as SignalRecord


@strawberry.enum(description="What a user did with a run's output.")
class SignalKind(Enum):
    REGENERATE = "regenerate"
    EDIT = "edit"
    COPY = "copy"
    SHARE = "share"
    ACCEPT = "accept"
    ABANDON = "abandon"


@strawberry.type(description="An implicit signal: something a user did with a run's output.")
class Signal:
    record: strawberry.Private[SignalRecord]
    id: strawberry.ID
    run_id: strawberry.ID
    kind: SignalKind
    draft_output: JSON | None = strawberry.field(
        description="EDIT: the run's output when the user edited it."
    )
    edited_output: JSON | None = strawberry.field(description="EDIT: what the user ended with.")
    user_id: str | None
    created_at: datetime

    @classmethod
    def from_record(cls, r: SignalRecord) -> Signal:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            run_id=strawberry.ID(r.run_id),
            kind=SignalKind(r.kind),
            draft_output=r.draft_output,
            edited_output=r.edited_output,
            user_id=r.user_id,
            created_at=r.created_at,
        )

    @strawberry.field
    async def run(self, info: Info[Context, None]) -> Run | None:
        record = await info.context.loaders.runs.load(self.record.run_id)
        return Run.from_record(record) if record else None
