from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.feedback import FeedbackWrite
from app.graphql.inputs.runs import given
from app.graphql.scalars import JSON, Score
from app.graphql.types.enums import FeedbackKeyKind, SourceType
from app.store.feedback import FeedbackQuery


@strawberry.input(description="Feedback on a run. With userId it is an upsert on (run, key, user).")
class FeedbackInput:
    run_id: strawberry.ID
    key: str
    score: Score | None = strawberry.UNSET
    value: JSON | None = strawberry.UNSET
    comment: str | None = strawberry.UNSET
    correction: JSON | None = strawberry.UNSET
    source_type: SourceType = SourceType.API
    source_info: JSON | None = None
    source_run_id: strawberry.ID | None = None
    user_id: str | None = None
    id: strawberry.ID | None = strawberry.field(
        default=None, description="Client-chosen UUID; a repeated request with it is idempotent."
    )
    retract: bool = strawberry.field(
        default=False, description="Withdraw this user's feedback on the key (score: null)."
    )

    def to_write(self) -> FeedbackWrite:
        return FeedbackWrite(
            run_id=str(self.run_id),
            key=self.key,
            score=given(self.score),
            value=given(self.value),
            comment=given(self.comment),
            correction=given(self.correction),
            source_type=self.source_type.value,
            source_info=self.source_info,
            source_run_id=str(self.source_run_id) if self.source_run_id else None,
            user_id=self.user_id,
            id=str(self.id) if self.id else None,
            retract=self.retract,
        )


@strawberry.input(description="Fields to change; fields left out keep their value.")
class FeedbackUpdateInput:
    score: Score | None = strawberry.UNSET
    value: JSON | None = strawberry.UNSET
    comment: str | None = strawberry.UNSET
    correction: JSON | None = strawberry.UNSET

    def to_write(self) -> FeedbackWrite:
        return FeedbackWrite(
            run_id="",
            key="",
            score=given(self.score),
            value=given(self.value),
            comment=given(self.comment),
            correction=given(self.correction),
        )


@strawberry.input(description="Every filter given must hold.")
class FeedbackFilter:
    run_ids: list[strawberry.ID] | None = None
    keys: list[str] | None = None
    source_types: list[SourceType] | None = None
    user_ids: list[str] | None = None
    has_score: bool | None = None
    has_comment: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_retracted: bool = True
    pending: bool | None = strawberry.field(
        default=None,
        description="true: only feedback whose run has not arrived; false: only the rest.",
    )

    def to_query(self) -> FeedbackQuery:
        return FeedbackQuery(
            run_ids=[str(i) for i in self.run_ids] if self.run_ids is not None else None,
            keys=self.keys,
            source_types=[s.value for s in self.source_types]
            if self.source_types is not None
            else None,
            user_ids=self.user_ids,
            has_score=self.has_score,
            has_comment=self.has_comment,
            created_after=self.created_after,
            created_before=self.created_before,
            include_retracted=self.include_retracted,
            pending=self.pending,
        )


@strawberry.input
class CategoryInput:
    value: float
    label: str


@strawberry.input(description="Declare what a feedback key's scores mean.")
class FeedbackKeyInput:
    key: str
    kind: FeedbackKeyKind
    min: float | None = None
    max: float | None = None
    categories: list[CategoryInput] | None = None
    higher_is_better: bool = strawberry.field(
        default=True, description="False when a lower score is better (e.g. error rate)."
    )
    description: str | None = None
    enforced: bool = strawberry.field(
        default=True,
        description="Refuse feedback the key does not allow (false: only describe scores).",
    )
