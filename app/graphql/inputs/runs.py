from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

import strawberry

from app.domain.missing import MISSING
from app.domain.runs import RunWrite
from app.graphql.scalars import JSON
from app.store.runs import RunQuery

# RunWrite fields only the LangSmith-compatible API writes.
LANGSMITH_ONLY = ("dotted_order",)


def given(value: Any) -> Any:
    """Strawberry's UNSET (argument left out) as the domain's MISSING."""
    return MISSING if value is strawberry.UNSET else value


@strawberry.input(description="A run to create, or to complete: fields left out keep their value.")
class RunInput:
    id: strawberry.ID = strawberry.field(description="Client-chosen UUID.")
    name: str | None = strawberry.UNSET
    inputs: JSON | None = strawberry.UNSET
    outputs: JSON | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    user_id: str | None = strawberry.UNSET
    session_id: str | None = strawberry.UNSET
    trace_id: strawberry.ID | None = strawberry.UNSET
    parent_run_id: strawberry.ID | None = strawberry.UNSET
    model: str | None = strawberry.UNSET
    start_time: datetime | None = strawberry.UNSET
    end_time: datetime | None = strawberry.UNSET
    latency_ms: float | None = strawberry.UNSET
    prompt_tokens: int | None = strawberry.UNSET
    completion_tokens: int | None = strawberry.UNSET
    total_tokens: int | None = strawberry.UNSET
    error: str | None = strawberry.UNSET
    tracing_project_name: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The tracing project (LangSmith's project) to group the run in, "
        "created if new. A new run naming none goes to the one called default.",
    )
    tracing_project_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The tracing project, by id."
    )
    reference_example_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="In an experiment: the dataset example the run was made from.",
    )

    def to_write(self) -> RunWrite:
        values = {
            f.name: given(getattr(self, f.name))
            for f in fields(RunWrite)
            if f.name not in ("id", "extra", *LANGSMITH_ONLY)
        }
        return RunWrite(id=str(self.id), **values)


@strawberry.input(description="Every filter given must hold.")
class RunFilter:
    tags: list[str] | None = strawberry.field(
        default=None, description="Runs carrying all these tags."
    )
    name: str | None = None
    start_after: datetime | None = None
    start_before: datetime | None = None
    user_id: str | None = None
    session_id: str | None = None
    trace_id: strawberry.ID | None = None
    model: str | None = None
    tracing_project_id: strawberry.ID | None = strawberry.field(
        default=None, description="Runs grouped in this tracing project."
    )
    feedback_key: str | None = strawberry.field(
        default=None, description="Runs with live feedback on this key."
    )
    min_score: float | None = strawberry.field(
        default=None, description="With feedbackKey: a score at least this."
    )
    max_score: float | None = strawberry.field(
        default=None, description="With feedbackKey: a score at most this."
    )

    def to_query(self) -> RunQuery:
        return RunQuery(
            tags=list(self.tags or []),
            name=self.name,
            start_after=self.start_after,
            start_before=self.start_before,
            user_id=self.user_id,
            session_id=self.session_id,
            trace_id=str(self.trace_id) if self.trace_id else None,
            model=self.model,
            tracing_project_id=str(self.tracing_project_id) if self.tracing_project_id else None,
        )
