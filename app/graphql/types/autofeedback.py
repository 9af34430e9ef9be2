from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.domain.autofeedback.calibration import CalibrationReport as CalibrationReportRecord
from app.domain.autofeedback.calibration import FieldCalibration as FieldCalibrationRecord
from app.domain.autofeedback.jobs import JobProgress, job_failures, job_progress
from app.graphql.context import Context
from app.graphql.scalars import JSON
from app.graphql.types.tasks import AgreementMeasure
from app.store import Stores
from app.store.autofeedback_jobs import AutoFeedbackJob as AutoFeedbackJobRecord
from app.store.key_judges import KeyJudge as KeyJudgeRecord

MAX_FAILURES = 100


@strawberry.enum(description="How automatic feedback predicts labels.")
class AutoFeedbackMethod(Enum):
    LLM = "llm"
    NEAREST_NEIGHBOUR = "nearest_neighbour"


@strawberry.enum
class AutoFeedbackJobStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


@strawberry.type(description="A run an automatic feedback job could not label, and why.")
class AutoFeedbackFailure:
    run_id: strawberry.ID
    error: str
    at: datetime


@strawberry.type(
    description=(
        "A background job labelling the runs of a task or key that have no label yet. "
        "done and failed count the runs settled so far; total is how many it will "
        "settle (lowered at the end if fewer runs were left)."
    )
)
class AutoFeedbackJob:
    record: strawberry.Private[AutoFeedbackJobRecord]
    id: strawberry.ID
    task_id: strawberry.ID | None
    key: str | None
    method: AutoFeedbackMethod
    model: str = strawberry.field(description="The LLM, or nearest-neighbour.")
    reviewer: str = strawberry.field(description="Who the labels are recorded as: model:<model>.")
    examples: int = strawberry.field(description="Examples per prompt (k).")
    run_filter: JSON
    limit: int
    total: int
    status: AutoFeedbackJobStatus
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    done: int = strawberry.field(description="Runs labelled.")
    failed: int = strawberry.field(description="Runs that could not be labelled (see failures).")
    in_flight: int = strawberry.field(description="Runs being labelled now.")

    @classmethod
    async def load(cls, stores: Stores, r: AutoFeedbackJobRecord) -> AutoFeedbackJob:
        """The job with its progress, read now."""
        return cls.from_record(r, await job_progress(stores, r))

    @classmethod
    def from_record(cls, r: AutoFeedbackJobRecord, progress: JobProgress) -> AutoFeedbackJob:
        run_filter = {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in r.run_filter.items()
            if v not in (None, [])
        }
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            task_id=strawberry.ID(r.task_id) if r.task_id else None,
            key=r.key,
            method=AutoFeedbackMethod(r.method),
            model=r.model,
            reviewer=r.reviewer,
            examples=r.examples,
            run_filter=JSON(run_filter),
            limit=r.limit,
            total=r.total,
            status=AutoFeedbackJobStatus(r.status),
            error=r.error,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
            done=progress.done,
            failed=progress.failed,
            in_flight=progress.in_flight,
        )

    @strawberry.field(description="The most recent failures, newest first.")
    async def failures(
        self, info: Info[Context, None], first: int = 20
    ) -> list[AutoFeedbackFailure]:
        records = await job_failures(
            info.context.stores, self.record, max(0, min(first, MAX_FAILURES))
        )
        return [
            AutoFeedbackFailure(run_id=strawberry.ID(f.run_id), error=f.error, at=f.at)
            for f in records
        ]


@strawberry.type(description="How predictions compare with people's labels on one field.")
class CalibrationField:
    field: str
    measure: AgreementMeasure
    runs: int = strawberry.field(description="Held-out runs where this field was compared.")
    compared: int = strawberry.field(
        description="(prediction, person's label) pairs where both gave a value."
    )
    missing: int = strawberry.field(
        description="Pairs where a person gave a value and the prediction did not."
    )
    exact_agreement: float | None = strawberry.field(
        description="EXACT fields: the share of pairs where the prediction equals the label."
    )
    mean_absolute_error: float | None = strawberry.field(
        description="NUMERIC fields: the mean absolute difference over pairs."
    )

    @classmethod
    def from_record(cls, r: FieldCalibrationRecord) -> CalibrationField:
        return cls(
            field=r.field,
            measure=AgreementMeasure(r.measure),
            runs=r.runs,
            compared=r.compared,
            missing=r.missing,
            exact_agreement=r.exact_agreement,
            mean_absolute_error=r.mean_absolute_error,
        )


@strawberry.type(description="A held-out run that could not be predicted, and why.")
class CalibrationFailure:
    run_id: strawberry.ID
    error: str


@strawberry.type(
    description=(
        "Predictions of runs people labelled, made from the other runs people labelled, "
        "compared with people's labels: how far to trust automatic feedback."
    )
)
class AutoFeedbackCalibration:
    task_id: strawberry.ID | None
    key: str | None
    method: AutoFeedbackMethod
    model: str
    examples: int
    holdout: float
    seed: int
    labelled_runs: int = strawberry.field(description="Runs with labels from people.")
    held_out_run_ids: list[strawberry.ID] = strawberry.field(
        description="The runs predicted (their labels hidden from the predictor)."
    )
    example_runs: int = strawberry.field(description="Runs whose labels the predictor used.")
    predicted: int
    failed: int
    fields: list[CalibrationField]
    failures: list[CalibrationFailure]

    @classmethod
    def from_record(cls, r: CalibrationReportRecord) -> AutoFeedbackCalibration:
        return cls(
            task_id=strawberry.ID(r.task_id) if r.task_id else None,
            key=r.key,
            method=AutoFeedbackMethod(r.method),
            model=r.model,
            examples=r.examples,
            holdout=r.holdout,
            seed=r.seed,
            labelled_runs=r.labelled_runs,
            held_out_run_ids=[strawberry.ID(i) for i in r.held_out_run_ids],
            example_runs=r.example_runs,
            predicted=r.predicted,
            failed=len(r.failures),
            fields=[CalibrationField.from_record(f) for f in r.fields],
            failures=[
                CalibrationFailure(run_id=strawberry.ID(f.run_id), error=f.error)
                for f in r.failures
            ],
        )


@strawberry.type(description="Instructions for the model judge of a feedback key.")
class KeyJudge:
    key: str
    instructions: str
    updated_at: datetime

    @classmethod
    def from_record(cls, r: KeyJudgeRecord) -> KeyJudge:
        return cls(key=r.key, instructions=r.instructions, updated_at=r.updated_at)
