from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain import validation as v
from app.errors import BadRequest
from app.graphql.scalars import JSON
from app.graphql.types.analytics import StatsDimension, TimeBucket
from app.graphql.types.enums import SourceType
from app.store.feedback_analytics import Dimension, StatsFilter

MAX_FILTER_VALUES = 1000


@strawberry.input(
    description=(
        "One grouping: {dimension: KEY}, {dimension: TIME, bucket: DAY}, "
        '{dimension: METADATA, field: "prompt_version"} (a dotted path into the run\'s '
        "metadata)."
    )
)
class StatsGroupBy:
    dimension: StatsDimension
    bucket: TimeBucket | None = None
    field: str | None = None

    def to_dimension(self) -> Dimension:
        return Dimension(
            kind=self.dimension.value,
            unit=self.bucket.value if self.bucket else None,
            field=self.field,
        )


@strawberry.input(description="A run metadata value: the run's metadata at `field` equals `value`.")
class MetadataMatch:
    field: str
    value: JSON | None


def _limited(values: list[str] | None, name: str) -> list[str] | None:
    if values is not None and len(values) > MAX_FILTER_VALUES:
        raise BadRequest(f"{name}: at most {MAX_FILTER_VALUES} values")
    return values


@strawberry.input(description="Which feedback to count. Every filter given must hold.")
class FeedbackStatsFilter:
    keys: list[str] | None = None
    after: datetime | None = strawberry.field(default=None, description="Created at or after.")
    before: datetime | None = strawberry.field(default=None, description="Created before.")
    run_ids: list[strawberry.ID] | None = None
    user_ids: list[str] | None = None
    source_types: list[SourceType] | None = None
    tags: list[str] | None = strawberry.field(default=None, description="Runs with all these tags.")
    models: list[str] | None = None
    session_ids: list[str] | None = None
    metadata: list[MetadataMatch] | None = None

    def to_filter(self) -> StatsFilter:
        run_ids = None
        if self.run_ids is not None:
            run_ids = _limited([str(i) for i in self.run_ids], "runIds")
        return StatsFilter(
            keys=_limited(self.keys, "keys"),
            since=self.after,
            until=self.before,
            run_ids=[v.check_uuid(i, "runIds") for i in run_ids] if run_ids is not None else None,
            user_ids=_limited(self.user_ids, "userIds"),
            source_types=[s.value for s in self.source_types]
            if self.source_types is not None
            else None,
            tags=_limited(self.tags, "tags"),
            models=_limited(self.models, "models"),
            session_ids=_limited(self.session_ids, "sessionIds"),
            metadata=[(m.field, m.value) for m in self.metadata or []],
        )
