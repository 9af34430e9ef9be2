from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types.run import Run
from app.store.preferences import Preference as PreferenceRecord


@strawberry.enum(description="A tie: neither run preferred, both good or both bad.")
class Tie(Enum):
    GOOD = "good"
    BAD = "bad"


@strawberry.type(description="On one key, one run was preferred to another (or they tied).")
class Preference:
    record: strawberry.Private[PreferenceRecord]
    id: strawberry.ID
    key: str
    preferred_run_id: strawberry.ID
    other_run_id: strawberry.ID
    tied: Tie | None
    user_id: str | None
    comment: str | None
    created_at: datetime
    preferred_experiment_id: strawberry.ID | None = strawberry.field(
        description="The preferred run's tracing project (its experiment, if one)."
    )
    other_experiment_id: strawberry.ID | None
    comparative_experiment_id: strawberry.ID | None = strawberry.field(
        description="Made by a pairwise evaluator in this comparative experiment."
    )

    @classmethod
    def from_record(cls, r: PreferenceRecord) -> Preference:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            key=r.key,
            preferred_run_id=strawberry.ID(r.preferred_run_id),
            other_run_id=strawberry.ID(r.other_run_id),
            tied=Tie(r.tied) if r.tied else None,
            user_id=r.user_id,
            comment=r.comment,
            created_at=r.created_at,
            preferred_experiment_id=_id(r.preferred_experiment_id),
            other_experiment_id=_id(r.other_experiment_id),
            comparative_experiment_id=_id(r.comparative_experiment_id),
        )

    @strawberry.field
    async def preferred_run(self, info: Info[Context, None]) -> Run | None:
        record = await info.context.loaders.runs.load(self.record.preferred_run_id)
        return Run.from_record(record) if record else None

    @strawberry.field
    async def other_run(self, info: Info[Context, None]) -> Run | None:
        record = await info.context.loaders.runs.load(self.record.other_run_id)
        return Run.from_record(record) if record else None


def _id(value: str | None) -> strawberry.ID | None:
    return strawberry.ID(value) if value is not None else None
