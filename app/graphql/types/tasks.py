from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app import clock
from app.domain.tasks.agreement import FieldAgreement as FieldAgreementRecord
from app.domain.tasks.agreement import TaskAgreement as TaskAgreementRecord
from app.domain.tasks.queue import Claim
from app.domain.tasks.schemas import metric_fields
from app.domain.tasks.service import SubmissionResult, metric_key
from app.graphql.context import Context
from app.graphql.scalars import JSON
from app.graphql.types.enums import SourceType
from app.graphql.types.feedback import Feedback
from app.graphql.types.run import Run
from app.store.feedback_tasks import FeedbackTask as FeedbackTaskRecord
from app.store.feedback_tasks import FeedbackTaskVersion as FeedbackTaskVersionRecord
from app.store.review_states import QueueEntry
from app.store.task_submissions import TaskSubmission as TaskSubmissionRecord


@strawberry.type(description="One version of a feedback task's schema.")
class FeedbackTaskVersion:
    version: int
    schema: JSON
    created_at: datetime

    @classmethod
    def from_record(cls, r: FeedbackTaskVersionRecord) -> FeedbackTaskVersion:
        return cls(version=r.version, schema=JSON(r.schema), created_at=r.created_at)


@strawberry.type(description="A rubric reviewers fill in for runs: a JSON Schema for an object.")
class FeedbackTask:
    record: strawberry.Private[FeedbackTaskRecord]
    id: strawberry.ID
    name: str
    instructions: str | None
    run_tag_selector: list[str] = strawberry.field(
        description="The task applies to runs carrying all these tags."
    )
    reviews_required: int = strawberry.field(
        description="Reviews from distinct reviewers a run needs to leave the queue."
    )
    lease_seconds: int = strawberry.field(description="How long a claimed run stays leased.")
    version: int = strawberry.field(description="The current schema version (from 1).")
    schema: JSON = strawberry.field(description="The current JSON Schema (Draft 2020-12).")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, r: FeedbackTaskRecord) -> FeedbackTask:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            name=r.name,
            instructions=r.instructions,
            run_tag_selector=r.run_tag_selector,
            reviews_required=r.reviews_required,
            lease_seconds=r.lease_seconds,
            version=r.version,
            schema=JSON(r.schema),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )

    @strawberry.field(
        description="Feedback keys the numeric and boolean fields are recorded under."
    )
    def metric_keys(self) -> list[str]:
        return [metric_key(self.record.name, m.name) for m in metric_fields(self.record.schema)]

    @strawberry.field(description="Every schema version, oldest first.")
    async def versions(self, info: Info[Context, None]) -> list[FeedbackTaskVersion]:
        records = await info.context.stores.feedback_tasks.all_versions(self.record.id)
        return [FeedbackTaskVersion.from_record(r) for r in records]


@strawberry.type(description="One reviewer's answers to a feedback task for one run.")
class TaskSubmission:
    record: strawberry.Private[TaskSubmissionRecord]
    id: strawberry.ID
    task_id: strawberry.ID
    task_version: int = strawberry.field(description="The schema version the values match.")
    run_id: strawberry.ID
    reviewer: str = strawberry.field(description="userId, or the API key (key:<id>) without one.")
    user_id: str | None
    values: JSON
    comment: str | None
    created_at: datetime
    modified_at: datetime
    source_type: SourceType = strawberry.field(
        description="HUMAN for people; MODEL for automatic feedback (reviewer model:<model>)."
    )
    source_info: JSON | None = strawberry.field(
        description="Automatic feedback: method, model, prompt version, example run ids, job."
    )

    @classmethod
    def from_record(cls, r: TaskSubmissionRecord) -> TaskSubmission:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            task_id=strawberry.ID(r.task_id),
            task_version=r.task_version,
            run_id=strawberry.ID(r.run_id),
            reviewer=r.reviewer,
            user_id=r.user_id,
            values=JSON(r.values),
            comment=r.comment,
            created_at=r.created_at,
            modified_at=r.modified_at,
            source_type=SourceType(r.source_type),
            source_info=JSON(r.source_info) if r.source_info is not None else None,
        )

    @strawberry.field(description="The schema of the version these values were checked against.")
    async def schema(self, info: Info[Context, None]) -> JSON | None:
        version = await info.context.stores.feedback_tasks.version(
            self.record.task_id, self.record.task_version
        )
        return JSON(version.schema) if version else None

    @strawberry.field
    async def run(self, info: Info[Context, None]) -> Run | None:
        record = await info.context.loaders.runs.load(self.record.run_id)
        return Run.from_record(record) if record else None


@strawberry.type
class TaskFeedbackResult:
    submission: TaskSubmission
    metric_feedback: list[Feedback] = strawberry.field(
        description="The feedback records written for the numeric and boolean fields."
    )
    review_count: int = strawberry.field(description="Distinct reviewers of this run so far.")
    needs_review: bool = strawberry.field(description="Whether the run is still in the queue.")

    @classmethod
    def from_result(cls, result: SubmissionResult) -> TaskFeedbackResult:
        count = len(result.review.reviewers)
        return cls(
            submission=TaskSubmission.from_record(result.submission),
            metric_feedback=[Feedback.from_record(f) for f in result.metrics],
            review_count=count,
            needs_review=count < result.task.reviews_required,
        )


@strawberry.type(description="A run waiting for review.")
class ReviewQueueItem:
    run: Run
    review_count: int
    reviewers: list[str]
    leased_by: str | None = strawberry.field(description="Who holds an unexpired lease, if any.")
    lease_expires_at: datetime | None

    @classmethod
    def from_entry(cls, entry: QueueEntry) -> ReviewQueueItem:
        state = entry.state
        leased = state.leased_at(clock.now())
        return cls(
            run=Run.from_record(entry.run),
            review_count=len(state.reviewers),
            reviewers=state.reviewers,
            leased_by=state.lease_holder if leased else None,
            lease_expires_at=state.lease_until if leased else None,
        )


@strawberry.type(description="A run leased to a reviewer until leaseExpiresAt.")
class ReviewClaim:
    task_id: strawberry.ID
    run: Run
    reviewer: str
    lease_expires_at: datetime

    @classmethod
    def from_claim(cls, claim: Claim) -> ReviewClaim:
        return cls(
            task_id=strawberry.ID(claim.task.id),
            run=Run.from_record(claim.run),
            reviewer=claim.reviewer,
            lease_expires_at=claim.lease_until,
        )


@strawberry.enum(description="How agreement on a field is measured.")
class AgreementMeasure(Enum):
    EXACT = "exact"
    NUMERIC = "numeric"


@strawberry.type(description="Agreement between reviewers on one field, over pairs of reviews.")
class FieldAgreement:
    field: str
    measure: AgreementMeasure
    runs: int = strawberry.field(description="Runs where two or more reviewers gave a value.")
    pairs: int = strawberry.field(description="Pairs of reviews of the same run compared.")
    exact_agreement: float | None = strawberry.field(
        description="EXACT fields: the share of pairs that gave the same value."
    )
    mean_absolute_difference: float | None = strawberry.field(
        description="NUMERIC fields: the mean absolute difference within pairs."
    )

    @classmethod
    def from_record(cls, r: FieldAgreementRecord) -> FieldAgreement:
        return cls(
            field=r.field,
            measure=AgreementMeasure(r.measure),
            runs=r.runs,
            pairs=r.pairs,
            exact_agreement=r.exact_agreement,
            mean_absolute_difference=r.mean_absolute_difference,
        )


@strawberry.type
class TaskAgreement:
    task_id: strawberry.ID
    runs_compared: int = strawberry.field(description="Runs with two or more reviewers.")
    fields: list[FieldAgreement]

    @classmethod
    def from_record(cls, r: TaskAgreementRecord) -> TaskAgreement:
        return cls(
            task_id=strawberry.ID(r.task_id),
            runs_compared=r.runs_compared,
            fields=[FieldAgreement.from_record(f) for f in r.fields],
        )
