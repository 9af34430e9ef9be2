from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.scalars import JSON
from app.store.tracing_projects import TracingProject as TracingProjectRecord


@strawberry.type(
    description="A named group of runs inside the project: LangSmith's project (its API "
    "calls them sessions). Not to be confused with a run's sessionId, a user's conversation."
)
class TracingProject:
    record: strawberry.Private[TracingProjectRecord]
    id: strawberry.ID
    name: str
    description: str | None
    extra: JSON | None = strawberry.field(description="LangSmith's extra, metadata included.")
    start_time: datetime
    end_time: datetime | None
    created_at: datetime
    updated_at: datetime
    reference_dataset_id: strawberry.ID | None = strawberry.field(
        description="An experiment's dataset (a tracing project with one is an experiment)."
    )
    summary_scores: JSON = strawberry.field(
        description="An experiment's summary evaluators' results, by key: "
        "{score, value, comment, source_type, created_at}."
    )

    @classmethod
    def from_record(cls, r: TracingProjectRecord) -> TracingProject:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            name=r.name,
            description=r.description,
            extra=r.extra,
            start_time=r.start_time,
            end_time=r.end_time,
            created_at=r.created_at,
            updated_at=r.updated_at,
            reference_dataset_id=(
                strawberry.ID(r.reference_dataset_id) if r.reference_dataset_id else None
            ),
            summary_scores=JSON(r.summary_scores),
        )

    @strawberry.field(description="How many runs it groups.")
    async def run_count(self, info: Info[Context, None]) -> int:
        return await info.context.stores.runs.count_in_tracing_project(
            self.record.project_id, self.record.id
        )
