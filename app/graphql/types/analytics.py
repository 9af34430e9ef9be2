from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from app.domain.analytics.partial import GroupStats
from app.domain.analytics.rules import KeyRule
from app.domain.analytics.stats import GroupResult, StatsResult
from app.domain.analytics.worst_runs import WorstRun as WorstRunRecord
from app.graphql.context import Context
from app.graphql.scalars import JSON
from app.graphql.types.admin import Category
from app.graphql.types.enums import FeedbackKeyKind
from app.graphql.types.feedback import Feedback

if TYPE_CHECKING:
    from app.graphql.types.run import Run


@strawberry.enum(description="What statistics can be grouped by.")
class StatsDimension(Enum):
    KEY = "key"
    TIME = "time"
    USER = "user"
    SESSION = "session"
    MODEL = "model"
    TAG = "tag"
    SOURCE = "source"
    METADATA = "metadata"


@strawberry.enum(description="Time buckets, in UTC; weeks start on Monday.")
class TimeBucket(Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


@strawberry.enum(description="Where statistics were computed from.")
class StatsSource(Enum):
    ROLLUPS = "rollups"
    AGGREGATION = "aggregation"


@strawberry.type
class LabelCount:
    label: str
    count: int


@strawberry.type(description="Scores from low to high (a single value when low = high).")
class DistributionBucket:
    low: float
    high: float
    count: int


@strawberry.type(
    description=(
        "Statistics of one group. Only live feedback counts (not deleted, not retracted). "
        "Boolean scores count as 1 and 0. stddev is the population standard deviation. "
        "p50/p90 are nearest-rank percentiles: exact for scores with at most two decimals, "
        "otherwise within 1%. positive/negative follow the key's rule (feedbackKeyRules): "
        "a boolean true, or a number above the key's threshold, is high; false, or a "
        "number below it, is low; high is positive unless higherIsBetter is false."
    )
)
class StatsGroup:
    result: strawberry.Private[GroupResult]
    key: str | None = strawberry.field(description="With groupBy KEY.")
    time: datetime | None = strawberry.field(description="Bucket start, with groupBy TIME.")
    user_id: str | None = strawberry.field(description="With groupBy USER (the feedback's user).")
    session_id: str | None = strawberry.field(description="With groupBy SESSION (the run's).")
    model: str | None = strawberry.field(description="With groupBy MODEL (the run's).")
    tag: str | None = strawberry.field(description="With groupBy TAG (one of the run's tags).")
    source_type: str | None = strawberry.field(description="With groupBy SOURCE.")
    metadata: JSON | None = strawberry.field(
        description="With groupBy METADATA: {field: the run's metadata value}."
    )
    other: bool = strawberry.field(
        description=(
            "The records of values beyond the grouped rollups' bound of values per key, "
            "grouping and hour or day (README, Statistics); the grouping's field is null."
        )
    )
    count: int = strawberry.field(description="Live feedback records.")
    scored: int = strawberry.field(description="... of which with a score.")
    commented: int = strawberry.field(description="... of which with a comment.")
    mean: float | None
    min: float | None
    max: float | None
    stddev: float | None
    p50: float | None
    p90: float | None
    positive: int
    negative: int
    positive_share: float | None = strawberry.field(description="positive / scored")
    negative_share: float | None = strawberry.field(description="negative / scored")
    labels: list[LabelCount] = strawberry.field(
        description="true/false counts for boolean scores, label counts for categorical keys."
    )
    distribution: list[DistributionBucket]

    @strawberry.field(description="The newest comments of this group (feedbackStats comments:).")
    def comments(self) -> list[Feedback]:
        return [Feedback.from_record(r) for r in self.result.comments]

    @classmethod
    def from_result(cls, result: GroupResult) -> StatsGroup:
        s: GroupStats = result.stats
        g = s.group
        return cls(
            result=result,
            key=g.get("key"),  # type: ignore[arg-type]
            time=g.get("time"),  # type: ignore[arg-type]
            user_id=g.get("user"),  # type: ignore[arg-type]
            session_id=g.get("session"),  # type: ignore[arg-type]
            model=g.get("model"),  # type: ignore[arg-type]
            tag=g.get("tag"),  # type: ignore[arg-type]
            source_type=g.get("source"),  # type: ignore[arg-type]
            metadata=g.get("metadata"),  # type: ignore[arg-type]
            other=bool(g.get("other")),
            count=s.count,
            scored=s.scored,
            commented=s.commented,
            mean=s.mean,
            min=s.min,
            max=s.max,
            stddev=s.stddev,
            p50=s.p50,
            p90=s.p90,
            positive=s.positive,
            negative=s.negative,
            positive_share=s.positive_share,
            negative_share=s.negative_share,
            labels=[LabelCount(label=lc.label, count=lc.count) for lc in s.labels],
            distribution=[
                DistributionBucket(low=b.low, high=b.high, count=b.count) for b in s.distribution
            ],
        )


@strawberry.type
class FeedbackStats:
    groups: list[StatsGroup]
    source: StatsSource = strawberry.field(
        description="ROLLUPS when read from the hourly/daily rollups, else AGGREGATION."
    )
    truncated: bool = strawberry.field(description="More groups matched than `limit`.")

    @classmethod
    def from_result(cls, result: StatsResult) -> FeedbackStats:
        return cls(
            groups=[StatsGroup.from_result(g) for g in result.groups],
            source=StatsSource(result.source),
            truncated=result.truncated,
        )


@strawberry.type(description="A run with negative feedback.")
class WorstRun:
    record: strawberry.Private[WorstRunRecord]
    run_id: strawberry.ID
    negative: int
    positive: int
    scored: int
    last_feedback_at: datetime

    @strawberry.field
    def negative_share(self) -> float:
        return self.record.negative / self.record.scored if self.record.scored else 0.0

    @strawberry.field(description="Its newest comments.")
    def comments(self) -> list[Feedback]:
        return [Feedback.from_record(r) for r in self.record.comments]

    @strawberry.field
    async def run(
        self, info: Info[Context, None]
    ) -> Annotated[Run, strawberry.lazy("app.graphql.types.run")] | None:
        from app.graphql.types.run import Run

        record = await info.context.loaders.runs.load(self.record.run_id)
        return Run.from_record(record) if record else None

    @classmethod
    def from_record(cls, record: WorstRunRecord) -> WorstRun:
        return cls(
            record=record,
            run_id=strawberry.ID(record.run_id),
            negative=record.negative,
            positive=record.positive,
            scored=record.scored,
            last_feedback_at=record.last_at,
        )


@strawberry.type(
    description=(
        "How a key's scores are read: the one rule behind positive and negative in "
        "statistics, worst runs, the dashboard and exports. A number above the threshold "
        "is high, below it low, on it neither; a boolean true is high, false low; high is "
        "positive unless higherIsBetter is false."
    )
)
class FeedbackKeyRule:
    key: str
    kind: FeedbackKeyKind = strawberry.field(
        description=(
            "The registered kind. An unregistered key is BOOLEAN while every live score it "
            "has had is 0, 1, true or false (read from its daily rollups), else CONTINUOUS."
        )
    )
    registered: bool
    min: float | None = strawberry.field(
        description="The low end of the scores' range: 0 for BOOLEAN, the lowest category."
    )
    max: float | None = strawberry.field(
        description="The high end: 1 for BOOLEAN, the highest category."
    )
    threshold: float | None = strawberry.field(
        description=(
            "0.5 for BOOLEAN, the midpoint of min..max, else 0; null for FREEFORM (its "
            "feedback is neither positive nor negative)."
        )
    )
    higher_is_better: bool
    categories: list[Category]

    @classmethod
    def from_rule(cls, rule: KeyRule) -> FeedbackKeyRule:
        return cls(
            key=rule.key,
            kind=FeedbackKeyKind(rule.kind),
            registered=rule.registered,
            min=rule.low,
            max=rule.high,
            threshold=rule.threshold,
            higher_is_better=rule.higher_is_better,
            categories=[Category(value=c.value, label=c.label) for c in rule.categories],
        )
