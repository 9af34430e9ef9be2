from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.domain import datasets as datasets_domain
from app.domain.experiments import Cell, Comparison, ExampleComparison, ExperimentResults
from app.domain.experiments import KeySummary as KeySummaryRecord
from app.graphql.context import Context
from app.graphql.scalars import JSON
from app.graphql.types.common import Connection
from app.graphql.types.run import Run
from app.graphql.types.tracing_project import TracingProject
from app.store.datasets import Dataset as DatasetRecord
from app.store.datasets import Example as ExampleRecord


@strawberry.type(description="A dataset example, as of the version read.")
class Example:
    record: strawberry.Private[ExampleRecord]
    id: strawberry.ID
    dataset_id: strawberry.ID
    inputs: JSON
    outputs: JSON | None = strawberry.field(description="The reference outputs.")
    metadata: JSON | None
    splits: list[str]
    source_run_id: strawberry.ID | None
    feedback_ids: list[strawberry.ID] = strawberry.field(
        description="The feedback it was built from (datasets built from feedback)."
    )
    version: int = strawberry.field(description="The dataset version that wrote this content.")
    created_at: datetime
    modified_at: datetime

    @classmethod
    def from_record(cls, r: ExampleRecord) -> Example:
        c = r.content
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            dataset_id=strawberry.ID(r.dataset_id),
            inputs=c.inputs,
            outputs=c.outputs,
            metadata=c.metadata,
            splits=list(c.splits),
            source_run_id=strawberry.ID(c.source_run_id) if c.source_run_id else None,
            feedback_ids=[strawberry.ID(i) for i in c.feedback_ids],
            version=r.version,
            created_at=r.created_at,
            modified_at=r.modified_at,
        )


@strawberry.type(
    description="Examples (inputs, reference outputs) that experiments run a target over. "
    "Versioned: every change to its examples makes a new version."
)
class Dataset:
    record: strawberry.Private[DatasetRecord]
    id: strawberry.ID
    name: str
    description: str | None
    metadata: JSON | None
    inputs_schema: JSON | None
    outputs_schema: JSON | None
    version: int = strawberry.field(description="The current version (0: never changed).")
    created_at: datetime
    modified_at: datetime

    @classmethod
    def from_record(cls, r: DatasetRecord) -> Dataset:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            name=r.name,
            description=r.description,
            metadata=r.metadata,
            inputs_schema=r.inputs_schema,
            outputs_schema=r.outputs_schema,
            version=r.version,
            created_at=r.created_at,
            modified_at=r.modified_at,
        )

    @strawberry.field(description="How many examples it holds now.")
    async def example_count(self, info: Info[Context, None]) -> int:
        return await info.context.stores.datasets.count_examples(self.record.id)

    @strawberry.field(
        description="Its examples, oldest first (keyset pages): the current ones, or as of "
        "a version (asOfVersion) or a time (asOf); only those in a split, when given."
    )
    async def examples(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        as_of_version: int | None = None,
        as_of: datetime | None = None,
        split: str | None = None,
    ) -> Connection[Example]:
        stores = info.context.stores
        when = as_of_version if as_of_version is not None else as_of
        query = await datasets_domain.example_query(
            stores, self.record, as_of=when, splits=[split] if split else None
        )
        page = await stores.datasets.page_examples(self.record.id, query, first, after)
        return Connection.from_page(page, Example.from_record)

    @strawberry.field(description="Experiments run over it, newest first (at most 100).")
    async def experiments(self, info: Info[Context, None]) -> list[TracingProject]:
        found = await info.context.stores.tracing_projects.experiments(
            self.record.project_id, self.record.id, 100
        )
        return [TracingProject.from_record(r) for r in found]


@strawberry.type(description="One feedback key's results in one experiment.")
class KeySummary:
    key: str
    n: int = strawberry.field(description="Runs with a score on this key.")
    mean: float | None
    p50: float | None
    pass_rate: float | None = strawberry.field(
        description="The share of runs scoring at least the pass threshold."
    )

    @classmethod
    def from_record(cls, r: KeySummaryRecord) -> KeySummary:
        return cls(key=r.key, n=r.n, mean=r.mean, p50=r.p50, pass_rate=r.pass_rate)


@strawberry.type
class ExperimentSummary:
    experiment: TracingProject
    run_count: int = strawberry.field(description="Examples it has a run for.")
    keys: list[KeySummary]

    @classmethod
    def from_record(cls, r: ExperimentResults) -> ExperimentSummary:
        return cls(
            experiment=TracingProject.from_record(r.experiment),
            run_count=len(r.runs_by_example),
            keys=[KeySummary.from_record(k) for k in r.keys],
        )


@strawberry.type(description="A score on one key.")
class KeyScore:
    key: str
    score: float


@strawberry.type(description="One experiment's run on an example, and its scores.")
class ExperimentCell:
    experiment_id: strawberry.ID
    run: Run | None
    scores: list[KeyScore]

    @classmethod
    def from_record(cls, r: Cell) -> ExperimentCell:
        return cls(
            experiment_id=strawberry.ID(r.experiment_id),
            run=Run.from_record(r.run) if r.run else None,
            scores=[KeyScore(key=k, score=s) for k, s in sorted(r.scores.items())],
        )


@strawberry.type
class ExampleResults:
    example_id: strawberry.ID
    example: Example | None = strawberry.field(description="Null when deleted since.")
    cells: list[ExperimentCell] = strawberry.field(description="In the experiments' order.")
    disagreement: float = strawberry.field(
        description="The largest difference between two experiments' scores on one key."
    )

    @classmethod
    def from_record(cls, r: ExampleComparison) -> ExampleResults:
        return cls(
            example_id=strawberry.ID(r.example_id),
            example=Example.from_record(r.example) if r.example else None,
            cells=[ExperimentCell.from_record(c) for c in r.cells],
            disagreement=r.disagreement,
        )


@strawberry.type(description="Experiments side by side.")
class ExperimentComparison:
    experiments: list[ExperimentSummary]
    examples: list[ExampleResults] = strawberry.field(
        description="Where the experiments disagree most first."
    )

    @classmethod
    def from_record(cls, r: Comparison, examples_first: int) -> ExperimentComparison:
        return cls(
            experiments=[ExperimentSummary.from_record(e) for e in r.experiments],
            examples=[ExampleResults.from_record(e) for e in r.examples[:examples_first]],
        )
