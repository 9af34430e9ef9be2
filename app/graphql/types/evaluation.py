from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from app.domain.evaluation.definition import (
    AlertSpec,
    CheckSpec,
    Limits,
    RuleDefinition,
    RunFilterSpec,
    ScorerSpec,
)
from app.domain.evaluation.limits import tokens_today
from app.domain.evaluation.rules import BackfillResult
from app.domain.evaluation.stats import Quality, RuleCounts, rule_counts, rule_quality
from app.graphql.context import Context
from app.graphql.scalars import JSON
from app.graphql.types.analytics import TimeBucket
from app.store.evaluation_rules import EvaluationRule as EvaluationRuleRecord
from app.store.evaluation_rules import RuleVersion

MAX_FAILURES = 100


@strawberry.enum(description="What scores a rule's runs.")
class EvaluationScorerKind(Enum):
    LLM = "llm"
    NEAREST_NEIGHBOUR = "nearest_neighbour"
    CHECK = "check"
    HTTP = "http"


@strawberry.enum(description="A built-in check: no model needed.")
class EvaluationCheckType(Enum):
    VALID_JSON = "valid_json"
    JSON_SCHEMA = "json_schema"
    REGEX_MATCH = "regex_match"
    REGEX_NO_MATCH = "regex_no_match"
    LENGTH = "length"
    LATENCY = "latency"
    TOKENS = "tokens"
    CONTAINS_ANY = "contains_any"
    CONTAINS_NONE = "contains_none"


@strawberry.enum(description="Which side of a run a check reads.")
class EvaluationCheckTarget(Enum):
    OUTPUTS = "outputs"
    INPUTS = "inputs"


@strawberry.enum
class EvaluationRuleStatus(Enum):
    ACTIVE = "active"
    PAUSED = "paused"


@strawberry.enum(description="What an alert watches.")
class EvaluationAlertMetric(Enum):
    MEAN_SCORE = "mean_score"
    AGREEMENT = "agreement"


@strawberry.enum
class EvaluationAlertDirection(Enum):
    BELOW = "below"
    ABOVE = "above"


@strawberry.type(description="A run metadata value: the run's metadata at `field` equals `value`.")
class MetadataEquals:
    field: str
    value: JSON | None


@strawberry.type(description="Which runs a rule looks at; every condition given must hold.")
class EvaluationRunFilter:
    tags: list[str]
    name: str | None
    model: str | None
    metadata: list[MetadataEquals]
    run_type: str | None
    root_only: bool
    tracing_project_id: str | None = strawberry.field(
        description="Matches runs in this tracing project (runs carry tracing_project_id)."
    )

    @classmethod
    def from_spec(cls, s: RunFilterSpec) -> EvaluationRunFilter:
        return cls(
            tags=list(s.tags),
            name=s.name,
            model=s.model,
            metadata=[MetadataEquals(field=f, value=JSON(v)) for f, v in s.metadata],
            run_type=s.run_type,
            root_only=s.root_only,
            tracing_project_id=s.tracing_project_id,
        )


@strawberry.type
class EvaluationCheck:
    type: EvaluationCheckType
    json_schema: JSON | None
    pattern: str | None
    ignore_case: bool
    min_length: int | None
    max_length: int | None
    max_latency_ms: float | None
    max_tokens: int | None
    words: list[str]
    target: EvaluationCheckTarget
    path: str | None

    @classmethod
    def from_spec(cls, s: CheckSpec) -> EvaluationCheck:
        return cls(
            type=EvaluationCheckType(s.type),
            json_schema=JSON(s.json_schema) if s.json_schema is not None else None,
            pattern=s.pattern,
            ignore_case=s.ignore_case,
            min_length=s.min_length,
            max_length=s.max_length,
            max_latency_ms=s.max_latency_ms,
            max_tokens=s.max_tokens,
            words=list(s.words),
            target=EvaluationCheckTarget(s.target),
            path=s.path,
        )


@strawberry.type
class EvaluationScorer:
    kind: EvaluationScorerKind
    task_id: strawberry.ID | None
    field: str | None = strawberry.field(description="A task scorer: the field that is the score.")
    examples: int
    check: EvaluationCheck | None
    url: str | None
    timeout_seconds: float
    secret_prefix: str | None = strawberry.field(
        description="An HTTP evaluator's signing secret: its first characters."
    )

    @classmethod
    def from_spec(cls, s: ScorerSpec) -> EvaluationScorer:
        return cls(
            kind=EvaluationScorerKind(s.kind),
            task_id=strawberry.ID(s.task_id) if s.task_id else None,
            field=s.field,
            examples=s.examples,
            check=EvaluationCheck.from_spec(s.check) if s.check else None,
            url=s.url,
            timeout_seconds=s.timeout_seconds,
            secret_prefix=s.secret[:6] if s.secret else None,
        )


@strawberry.type(description="Per rule, across every process; null: no limit.")
class EvaluationLimits:
    concurrency: int | None
    calls_per_minute: int | None
    daily_calls: int | None
    daily_tokens: int | None
    max_attempts: int

    @classmethod
    def from_spec(cls, s: Limits) -> EvaluationLimits:
        return cls(
            concurrency=s.concurrency,
            calls_per_minute=s.calls_per_minute,
            daily_calls=s.daily_calls,
            daily_tokens=s.daily_tokens,
            max_attempts=s.max_attempts,
        )


@strawberry.type(description="A threshold on the rule's mean score or its agreement with people.")
class EvaluationAlert:
    metric: EvaluationAlertMetric
    direction: EvaluationAlertDirection
    threshold: float
    window_hours: int
    min_count: int
    firing: bool
    value: float | None = strawberry.field(description="The value when it last fired or resolved.")
    changed_at: datetime | None

    @classmethod
    def from_spec(cls, s: AlertSpec, state: dict[str, Any]) -> EvaluationAlert:
        return cls(
            metric=EvaluationAlertMetric(s.metric),
            direction=EvaluationAlertDirection(s.direction),
            threshold=s.threshold,
            window_hours=s.window_hours,
            min_count=s.min_count,
            firing=bool(state.get("firing")),
            value=state.get("value"),
            changed_at=state.get("at"),
        )


@strawberry.type(description="What became of the runs a rule sampled (every version).")
class EvaluationCounts:
    sampled: int
    evaluated: int
    skipped_budget: int = strawberry.field(description="Skipped: the daily budget was spent.")
    skipped_other: int = strawberry.field(
        description="Skipped: queued under an older version, or a check that did not apply."
    )
    failed: int
    pending: int = strawberry.field(description="Queued or being evaluated.")

    @classmethod
    def from_record(cls, c: RuleCounts) -> EvaluationCounts:
        return cls(
            sampled=c.sampled,
            evaluated=c.evaluated,
            skipped_budget=c.skipped_budget,
            skipped_other=c.skipped_other,
            failed=c.failed,
            pending=c.pending,
        )


@strawberry.type(
    description=(
        "The rule's scores over runs, and how they compare with people's scores on the "
        "same runs and key: agreement is the share of runs where both read as positive, "
        "negative or neither."
    )
)
class EvaluationQuality:
    evaluated: int
    mean_score: float | None
    compared: int = strawberry.field(description="Runs scored by the rule and by people.")
    people_mean: float | None = strawberry.field(description="People's mean on those runs.")
    agreement: float | None
    mean_absolute_difference: float | None

    @classmethod
    def from_record(cls, q: Quality) -> EvaluationQuality:
        return cls(
            evaluated=q.evaluated,
            mean_score=q.mean_score,
            compared=q.compared,
            people_mean=q.people_mean,
            agreement=q.agreement,
            mean_absolute_difference=q.mean_absolute_difference,
        )


@strawberry.type(description="One bucket of runs, by their start time.")
class EvaluationSeriesPoint:
    time: datetime
    quality: EvaluationQuality


@strawberry.type
class EvaluationFailure:
    run_id: strawberry.ID
    version: int
    attempts: int
    error: str
    at: datetime


@strawberry.type
class EvaluationRuleVersion:
    version: int
    created_by: str
    created_at: datetime
    definition: JSON = strawberry.field(description="The definition (without any secret).")

    @classmethod
    def from_record(cls, r: RuleVersion) -> EvaluationRuleVersion:
        definition = dict(r.definition)
        scorer = dict(definition.get("scorer") or {})
        scorer.pop("secret", None)
        definition["scorer"] = scorer
        return cls(
            version=r.version,
            created_by=r.created_by,
            created_at=r.created_at,
            definition=JSON(definition),
        )


@strawberry.type(
    description=(
        "An online evaluation rule: it scores a deterministic sample of the runs its "
        "filter selects, as they complete, and writes the scores as feedback on its key."
    )
)
class EvaluationRule:
    record: strawberry.Private[EvaluationRuleRecord]
    id: strawberry.ID
    name: str
    description: str | None
    version: int
    status: EvaluationRuleStatus
    key: str | None = strawberry.field(description="The feedback key scores are written to.")
    sampling_rate: float
    filter: EvaluationRunFilter
    scorer: EvaluationScorer
    limits: EvaluationLimits
    alerts: list[EvaluationAlert]
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, r: EvaluationRuleRecord) -> EvaluationRule:
        d = RuleDefinition.from_doc(r.definition)
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            name=r.name,
            description=d.description,
            version=r.version,
            status=EvaluationRuleStatus(r.status),
            key=d.key,
            sampling_rate=d.sampling_rate,
            filter=EvaluationRunFilter.from_spec(d.filter),
            scorer=EvaluationScorer.from_spec(d.scorer),
            limits=EvaluationLimits.from_spec(d.limits),
            alerts=[
                EvaluationAlert.from_spec(a, r.alert_state.get(str(i), {}))
                for i, a in enumerate(d.alerts)
            ],
            created_by=r.created_by,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )

    @strawberry.field(description="Sampled, evaluated, skipped, failed and pending runs.")
    async def counts(self, info: Info[Context, None]) -> EvaluationCounts:
        return EvaluationCounts.from_record(await rule_counts(info.context.stores, self.record.id))

    @strawberry.field(description="Tokens the rule's LLM calls used today (UTC).")
    async def tokens_today(self, info: Info[Context, None]) -> int:
        return await tokens_today(info.context.stores.rate_limits, self.record.id)

    @strawberry.field(description="Over runs that started in [after, before) (all when left out).")
    async def quality(
        self,
        info: Info[Context, None],
        after: datetime | None = None,
        before: datetime | None = None,
    ) -> EvaluationQuality:
        report = await rule_quality(info.context.stores, self.record, after, before)
        return EvaluationQuality.from_record(report.overall)

    @strawberry.field(
        description=(
            "Mean score and agreement with people per hour, day or week of the runs' "
            "start time; buckets without scored runs are left out."
        )
    )
    async def series(
        self,
        info: Info[Context, None],
        after: datetime | None = None,
        before: datetime | None = None,
        bucket: TimeBucket = TimeBucket.DAY,
    ) -> list[EvaluationSeriesPoint]:
        report = await rule_quality(info.context.stores, self.record, after, before, bucket.value)
        return [
            EvaluationSeriesPoint(time=p.time, quality=EvaluationQuality.from_record(p.quality))
            for p in report.series
        ]

    @strawberry.field(description="The most recent failed evaluations, newest first.")
    async def failures(self, info: Info[Context, None], first: int = 20) -> list[EvaluationFailure]:
        records = await info.context.stores.evaluations.failures(
            self.record.id, max(0, min(first, MAX_FAILURES))
        )
        return [
            EvaluationFailure(
                run_id=strawberry.ID(e.run_id),
                version=e.version,
                attempts=e.attempts,
                error=e.error or "",
                at=e.next_at,
            )
            for e in records
        ]

    @strawberry.field(description="Every version of the rule's definition, oldest first.")
    async def versions(self, info: Info[Context, None]) -> list[EvaluationRuleVersion]:
        records = await info.context.stores.evaluation_rules.version_history(self.record.id)
        return [EvaluationRuleVersion.from_record(r) for r in records]


@strawberry.type
class SavedEvaluationRule:
    rule: EvaluationRule
    secret: str | None = strawberry.field(
        description="An HTTP evaluator's signing secret when this call set it: shown this once."
    )


@strawberry.type(description="What a backfill queued.")
class EvaluationBackfill:
    scanned: int = strawberry.field(description="Runs in the window the filter selects.")
    sampled: int = strawberry.field(description="Of those, complete and in the sample.")
    queued: int = strawberry.field(description="Of those, newly queued (not queued before).")
    complete: bool = strawberry.field(description="False when the window had more runs.")
    resume_before: datetime | None = strawberry.field(
        description="When not complete: backfill again with this as `before`."
    )

    @classmethod
    def from_record(cls, r: BackfillResult) -> EvaluationBackfill:
        return cls(
            scanned=r.scanned,
            sampled=r.sampled,
            queued=r.queued,
            complete=r.complete,
            resume_before=r.resume_before,
        )
