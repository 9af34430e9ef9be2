from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.scalars import JSON, Score
from app.graphql.types.enums import SourceType
from app.store.feedback import Feedback as FeedbackRecord
from app.store.feedback import HistoryEntry

if TYPE_CHECKING:
    from app.graphql.types.run import Run


@strawberry.type(description="One change to a feedback record.")
class FeedbackChange:
    at: datetime
    change: str = strawberry.field(description="created, updated, retracted or deleted")
    by: str = strawberry.field(description="who: key:<api key id>, token:<token id>, cli")
    via: str = strawberry.field(description="graphql, widget, email, rest or cli")
    old: JSON | None
    new: JSON | None

    @classmethod
    def from_record(cls, entry: HistoryEntry) -> FeedbackChange:
        return cls(
            at=entry.at,
            change=entry.change,
            by=entry.by,
            via=entry.via,
            old=JSON(entry.old) if entry.old is not None else None,
            new=JSON(entry.new) if entry.new is not None else None,
        )


@strawberry.type(description="A score, value, comment or correction on a run.")
class Feedback:
    record: strawberry.Private[FeedbackRecord]
    id: strawberry.ID
    run_id: strawberry.ID
    key: str
    score: Score | None
    value: JSON | None
    comment: str | None
    correction: JSON | None
    source_type: SourceType
    source_info: JSON | None
    source_run_id: strawberry.ID | None
    user_id: str | None
    retracted: bool
    pending: bool = strawberry.field(
        description=(
            "Its run has not arrived yet. It is listed and counted meanwhile, attaches "
            "when the run arrives, and is deleted at pendingUntil if it never does."
        )
    )
    created_at: datetime
    modified_at: datetime

    @classmethod
    def from_record(cls, record: FeedbackRecord) -> Feedback:
        return cls(
            record=record,
            id=strawberry.ID(record.id),
            run_id=strawberry.ID(record.run_id),
            key=record.key,
            score=Score(record.score) if record.score is not None else None,
            value=record.value,
            comment=record.comment,
            correction=record.correction,
            source_type=SourceType(record.source_type),
            source_info=record.source_info,
            source_run_id=strawberry.ID(record.source_run_id) if record.source_run_id else None,
            user_id=record.user_id,
            retracted=record.retracted,
            pending=record.pending,
            created_at=record.created_at,
            modified_at=record.modified_at,
        )

    @strawberry.field(
        description=(
            "While pending: when it is deleted if its run has still not arrived "
            "(PLAUDIT_PENDING_FEEDBACK_TTL after it was created). Null otherwise."
        )
    )
    def pending_until(self, info: Info[Context, None]) -> datetime | None:
        if not self.record.pending:
            return None
        return self.record.created_at + timedelta(
            seconds=info.context.settings.pending_feedback_ttl
        )

    @strawberry.field(description="The run this feedback is about (null while pending).")
    async def run(
        self, info: Info[Context, None]
    ) -> Annotated[Run, strawberry.lazy("app.graphql.types.run")] | None:
        from app.graphql.types.run import Run

        record = await info.context.loaders.runs.load(self.record.run_id)
        return Run.from_record(record) if record else None

    @strawberry.field(description="Every change to this record, oldest first.")
    async def history(self, info: Info[Context, None]) -> list[FeedbackChange]:
        entries = await info.context.stores.feedback.history(self.record.project_id, self.record.id)
        return [FeedbackChange.from_record(e) for e in entries]
