from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.domain import dataset_from_feedback
from app.graphql.context import Context
from app.graphql.permissions import CanIngest
from app.graphql.types.dataset import Dataset


@strawberry.input(
    description="Which runs become examples: feedback on key (any key when left out) whose "
    "score is within [minScore, maxScore] (a boolean counts as 1 or 0), given since a time; "
    "with withCorrection, only runs that also have a correction."
)
class FeedbackSelectionInput:
    key: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    since: datetime | None = None
    with_correction: bool = False
    limit: int = strawberry.field(default=1000, description="At most this many new runs.")

    def to_selection(self) -> dataset_from_feedback.Selection:
        scores = []
        if self.min_score is not None:
            scores.append(("gte", self.min_score))
        if self.max_score is not None:
            scores.append(("lte", self.max_score))
        return dataset_from_feedback.Selection(
            key=self.key,
            scores=tuple(scores),
            since=self.since,
            with_correction=self.with_correction,
            limit=self.limit,
        )


@strawberry.type
class DatasetFromFeedback:
    dataset: Dataset
    added: int = strawberry.field(description="Examples added by this build.")
    already_in: int = strawberry.field(
        description="Chosen runs the dataset already had an example from (not added again)."
    )
    version: int | None = strawberry.field(description="The version made; null if none.")


@strawberry.type
class DatasetMutationMixin:
    @strawberry.mutation(
        permission_classes=[CanIngest],
        description="Build or extend a dataset from runs chosen by their feedback: a run's "
        "inputs become an example's inputs, its latest correction (else its outputs) the "
        "reference outputs. Repeating adds only runs the dataset has no example from.",
    )
    async def build_dataset_from_feedback(
        self,
        info: Info[Context, None],
        dataset_name: str,
        selection: FeedbackSelectionInput,
        description: str | None = None,
    ) -> DatasetFromFeedback:
        ctx = info.context
        built = await dataset_from_feedback.build(
            ctx.stores,
            ctx.project_id,
            dataset_name,
            selection.to_selection(),
            description=description,
        )
        return DatasetFromFeedback(
            dataset=Dataset.from_record(built.dataset),
            added=built.added,
            already_in=built.already_in,
            version=built.version,
        )
