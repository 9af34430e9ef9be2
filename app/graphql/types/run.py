from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.scalars import JSON
from app.graphql.types.feedback import Feedback
from app.graphql.types.tracing_project import TracingProject
from app.store.runs import Run as RunRecord


@strawberry.type(description="Summary of the scores on one key.")
class KeyStats:
    key: str
    count: int = strawberry.field(description="Live, unretracted feedback records.")
    scored: int = strawberry.field(description="Of those, how many carry a score.")
    mean: float | None
    min: float | None
    max: float | None


@strawberry.type(description="An LLM call that feedback is about.")
class Run:
    record: strawberry.Private[RunRecord]
    id: strawberry.ID
    name: str | None
    inputs: JSON | None
    outputs: JSON | None
    tags: list[str]
    metadata: JSON | None
    user_id: str | None
    session_id: str | None
    trace_id: strawberry.ID | None
    parent_run_id: strawberry.ID | None
    model: str | None
    start_time: datetime
    end_time: datetime | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    tracing_project_id: strawberry.ID | None
    reference_example_id: strawberry.ID | None = strawberry.field(
        description="In an experiment: the dataset example the run was made from."
    )

    @classmethod
    def from_record(cls, r: RunRecord) -> Run:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            name=r.name,
            inputs=r.inputs,
            outputs=r.outputs,
            tags=r.tags,
            metadata=r.metadata,
            user_id=r.user_id,
            session_id=r.session_id,
            trace_id=strawberry.ID(r.trace_id) if r.trace_id else None,
            parent_run_id=strawberry.ID(r.parent_run_id) if r.parent_run_id else None,
            model=r.model,
            start_time=r.start_time,
            end_time=r.end_time,
            latency_ms=r.latency_ms,
            prompt_tokens=r.prompt_tokens,
            completion_tokens=r.completion_tokens,
            total_tokens=r.total_tokens,
            error=r.error,
            created_at=r.created_at,
            updated_at=r.updated_at,
            tracing_project_id=strawberry.ID(r.tracing_project_id)
            if r.tracing_project_id
            else None,
            reference_example_id=(
                strawberry.ID(r.reference_example_id) if r.reference_example_id else None
            ),
        )

    @strawberry.field(description="The tracing project (LangSmith's project) it is grouped in.")
    async def tracing_project(self, info: Info[Context, None]) -> TracingProject | None:
        if self.record.tracing_project_id is None:
            return None
        found = await info.context.loaders.tracing_projects.load(self.record.tracing_project_id)
        return TracingProject.from_record(found) if found else None

    @strawberry.field(description="Live feedback on this run, oldest first.")
    async def feedback(self, info: Info[Context, None]) -> list[Feedback]:
        records = await info.context.loaders.feedback_by_run.load(self.record.id)
        return [Feedback.from_record(r) for r in records]

    @strawberry.field(description="Per-key score statistics over this run's live feedback.")
    async def feedback_stats(self, info: Info[Context, None]) -> list[KeyStats]:
        rows = await info.context.loaders.feedback_stats.load(self.record.id)
        return [
            KeyStats(key=r.key, count=r.count, scored=r.scored, mean=r.mean, min=r.min, max=r.max)
            for r in rows
        ]
