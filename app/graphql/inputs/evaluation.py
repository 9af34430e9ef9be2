from __future__ import annotations

import strawberry

from app.domain.evaluation.definition import (
    DEFAULT_ALERT_MIN_COUNT,
    DEFAULT_ALERT_WINDOW_HOURS,
    DEFAULT_EXAMPLES,
    DEFAULT_HTTP_TIMEOUT_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    AlertSpec,
    CheckSpec,
    Limits,
    RuleDefinition,
    RunFilterSpec,
    ScorerSpec,
)
from app.graphql.inputs.analytics import MetadataMatch
from app.graphql.scalars import JSON
from app.graphql.types.evaluation import (
    EvaluationAlertDirection,
    EvaluationAlertMetric,
    EvaluationCheckTarget,
    EvaluationCheckType,
    EvaluationScorerKind,
)


@strawberry.input(description="Which runs a rule looks at; every condition given must hold.")
class EvaluationRunFilterInput:
    tags: list[str] | None = strawberry.field(default=None, description="Runs with all these tags.")
    name: str | None = None
    model: str | None = None
    metadata: list[MetadataMatch] | None = strawberry.field(
        default=None, description="Run metadata equal to these values (dotted paths)."
    )
    run_type: str | None = strawberry.field(
        default=None, description="LangSmith's run type: llm, chain, tool, retriever..."
    )
    root_only: bool = strawberry.field(default=False, description="Only runs without a parent.")
    tracing_project_id: str | None = strawberry.field(
        default=None,
        description="Only runs in this tracing project (runs whose tracing_project_id is it).",
    )

    def to_spec(self) -> RunFilterSpec:
        return RunFilterSpec(
            tags=list(self.tags or []),
            name=self.name,
            model=self.model,
            metadata=[(m.field, m.value) for m in self.metadata or []],
            run_type=self.run_type,
            root_only=self.root_only,
            tracing_project_id=self.tracing_project_id,
        )


@strawberry.input(description="A built-in check; give the settings its type needs.")
class EvaluationCheckInput:
    type: EvaluationCheckType
    json_schema: JSON | None = strawberry.field(default=None, description="JSON_SCHEMA.")
    pattern: str | None = strawberry.field(
        default=None, description="REGEX_MATCH, REGEX_NO_MATCH (Python re syntax)."
    )
    ignore_case: bool = False
    min_length: int | None = strawberry.field(default=None, description="LENGTH (characters).")
    max_length: int | None = strawberry.field(default=None, description="LENGTH (characters).")
    max_latency_ms: float | None = strawberry.field(default=None, description="LATENCY.")
    max_tokens: int | None = strawberry.field(default=None, description="TOKENS (total).")
    words: list[str] | None = strawberry.field(
        default=None, description="CONTAINS_ANY, CONTAINS_NONE (whole words)."
    )
    target: EvaluationCheckTarget = EvaluationCheckTarget.OUTPUTS
    path: str | None = strawberry.field(
        default=None, description="A field of the outputs (or inputs) to read, as a dotted path."
    )

    def to_spec(self) -> CheckSpec:
        return CheckSpec(
            type=self.type.value,
            json_schema=self.json_schema,
            pattern=self.pattern,
            ignore_case=self.ignore_case,
            min_length=self.min_length,
            max_length=self.max_length,
            max_latency_ms=self.max_latency_ms,
            max_tokens=self.max_tokens,
            words=list(self.words or []),
            target=self.target.value,
            path=self.path,
        )


@strawberry.input(
    description=(
        "LLM: AutoFeedbackICL on a task (taskId; field: the score) or the judge of the "
        "rule's registered key. NEAREST_NEIGHBOUR: the offline baseline, on either. "
        "CHECK: a built-in check. HTTP: POST the run, signed like webhooks, to url."
    )
)
class EvaluationScorerInput:
    kind: EvaluationScorerKind
    task_id: strawberry.ID | None = None
    field: str | None = None
    examples: int = DEFAULT_EXAMPLES
    check: EvaluationCheckInput | None = None
    url: str | None = None
    secret: str | None = strawberry.field(
        default=None, description="HTTP: the signing secret (generated when left out)."
    )
    timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS

    def to_spec(self) -> ScorerSpec:
        return ScorerSpec(
            kind=self.kind.value,
            task_id=str(self.task_id) if self.task_id is not None else None,
            field=self.field,
            examples=self.examples,
            check=self.check.to_spec() if self.check else None,
            url=self.url,
            secret=self.secret,
            timeout_seconds=self.timeout_seconds,
        )


@strawberry.input(description="Per rule, across every process; left out: no limit.")
class EvaluationLimitsInput:
    concurrency: int | None = None
    calls_per_minute: int | None = None
    daily_calls: int | None = None
    daily_tokens: int | None = strawberry.field(
        default=None, description="Where the LLM endpoint reports usage."
    )
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def to_spec(self) -> Limits:
        return Limits(
            concurrency=self.concurrency,
            calls_per_minute=self.calls_per_minute,
            daily_calls=self.daily_calls,
            daily_tokens=self.daily_tokens,
            max_attempts=self.max_attempts,
        )


@strawberry.input(
    description=(
        "Send an EVALUATION_ALERT webhook event when the metric over the last windowHours "
        "of runs goes below (or above) threshold, and again when it comes back."
    )
)
class EvaluationAlertInput:
    metric: EvaluationAlertMetric
    direction: EvaluationAlertDirection
    threshold: float
    window_hours: int = DEFAULT_ALERT_WINDOW_HOURS
    min_count: int = DEFAULT_ALERT_MIN_COUNT

    def to_spec(self) -> AlertSpec:
        return AlertSpec(
            metric=self.metric.value,
            direction=self.direction.value,
            threshold=self.threshold,
            window_hours=self.window_hours,
            min_count=self.min_count,
        )


@strawberry.input(description="An online evaluation rule.")
class EvaluationRuleInput:
    name: str
    sampling_rate: float = strawberry.field(description="The share of runs scored, 0 to 1.")
    scorer: EvaluationScorerInput
    key: str | None = strawberry.field(
        default=None,
        description="The feedback key scores go to (a task scorer's is <task>.<field>).",
    )
    filter: EvaluationRunFilterInput | None = None
    limits: EvaluationLimitsInput | None = None
    alerts: list[EvaluationAlertInput] | None = None
    description: str | None = None

    def to_definition(self) -> RuleDefinition:
        return RuleDefinition(
            filter=(self.filter or EvaluationRunFilterInput()).to_spec(),
            sampling_rate=self.sampling_rate,
            scorer=self.scorer.to_spec(),
            key=self.key,
            limits=(self.limits or EvaluationLimitsInput()).to_spec(),
            alerts=[a.to_spec() for a in self.alerts or []],
            description=self.description,
        )
