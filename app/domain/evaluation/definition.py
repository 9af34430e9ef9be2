"""What an evaluation rule is, and the checks a definition must pass.

A definition is stored as plain data (``to_doc``) in the rule's document and read
back with ``from_doc``; every edge builds one of these dataclasses and hands it to
``app.domain.evaluation.rules``, which checks it with :func:`check_definition`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.domain import validation as v
from app.errors import BadRequest
from app.store.runs import Run

SCORER_KINDS = ("llm", "nearest_neighbour", "check", "http")
ALERT_METRICS = ("mean_score", "agreement")
ALERT_DIRECTIONS = ("below", "above")
MAX_ALERTS = 10
MAX_METADATA_MATCHES = 20
MAX_ATTEMPTS = 20
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_ALERT_WINDOW_HOURS = 24
DEFAULT_ALERT_MIN_COUNT = 20
MAX_EXAMPLES = 50
DEFAULT_EXAMPLES = 8
MAX_HTTP_TIMEOUT_SECONDS = 120.0
DEFAULT_HTTP_TIMEOUT_SECONDS = 10.0
# The LangSmith run type, kept in a run's metadata (app/compat/langsmith/run_mapping.py).
RUN_TYPE_FIELD = "ls_run_type"


def _metadata_value(metadata: Any, path: str) -> tuple[bool, Any]:
    node = metadata
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


@dataclass(frozen=True)
class RunFilterSpec:
    """Which runs a rule looks at; every condition given must hold.

    ``tracing_project_id`` names a tracing project (a named group of runs that
    LangSmith ingestion gives runs): it matches runs whose ``tracing_project_id``
    equals it, so until runs carry that field a rule that sets it matches none."""

    tags: list[str] = field(default_factory=list)  # the run carries all of them
    name: str | None = None
    model: str | None = None
    metadata: list[tuple[str, Any]] = field(default_factory=list)  # (dotted path, value)
    run_type: str | None = None  # llm, chain, tool... (LangSmith's run type)
    root_only: bool = False  # only runs without a parent (trace roots)
    tracing_project_id: str | None = None

    def matches(self, run: Run) -> bool:
        if self.tags and not set(self.tags) <= set(run.tags):
            return False
        if self.name is not None and run.name != self.name:
            return False
        if self.model is not None and run.model != self.model:
            return False
        if self.root_only and run.parent_run_id is not None:
            return False
        if self.run_type is not None:
            found, value = _metadata_value(run.metadata, RUN_TYPE_FIELD)
            declared = getattr(run, "run_type", None)
            if (declared if declared is not None else (value if found else None)) != (
                self.run_type
            ):
                return False
        if (
            self.tracing_project_id is not None
            and getattr(run, "tracing_project_id", None) != self.tracing_project_id
        ):
            return False
        for path, expected in self.metadata:
            found, value = _metadata_value(run.metadata, path)
            if not found or value != expected:
                return False
        return True

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RunFilterSpec:
        return cls(
            tags=list(doc.get("tags") or []),
            name=doc.get("name"),
            model=doc.get("model"),
            metadata=[(m[0], m[1]) for m in doc.get("metadata") or []],
            run_type=doc.get("run_type"),
            root_only=bool(doc.get("root_only")),
            tracing_project_id=doc.get("tracing_project_id"),
        )


@dataclass(frozen=True)
class CheckSpec:
    """A built-in check (app/domain/evaluation/checks.py): ``type`` and its settings."""

    type: str
    json_schema: Any = None  # a JSON Schema (an object), checked by checks.check_spec
    pattern: str | None = None
    ignore_case: bool = False
    min_length: int | None = None
    max_length: int | None = None
    max_latency_ms: float | None = None
    max_tokens: int | None = None
    words: list[str] = field(default_factory=list)
    # What is checked: the run's outputs (default) or inputs, optionally one field of
    # them (a dotted path).
    target: str = "outputs"
    path: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> CheckSpec:
        return cls(**{**doc, "words": list(doc.get("words") or [])})


@dataclass(frozen=True)
class ScorerSpec:
    """What scores a run:

    - ``llm``: AutoFeedbackICL on a task (``task_id``, the score is ``field``), or the
      model judge of a registered key (the rule's key), with ``examples`` examples;
    - ``nearest_neighbour``: the offline baseline, on a task or a key;
    - ``check``: a built-in check (``check``), no model;
    - ``http``: a POST to ``url``, signed with ``secret`` like webhooks."""

    kind: str
    task_id: str | None = None
    field: str | None = None
    examples: int = DEFAULT_EXAMPLES
    check: CheckSpec | None = None
    url: str | None = None
    secret: str | None = None
    timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ScorerSpec:
        check = doc.get("check")
        return cls(**{**doc, "check": CheckSpec.from_doc(check) if check else None})


@dataclass(frozen=True)
class Limits:
    """Per rule, across every process. None: no limit."""

    concurrency: int | None = None
    calls_per_minute: int | None = None
    daily_calls: int | None = None
    daily_tokens: int | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Limits:
        return cls(**doc)


@dataclass(frozen=True)
class AlertSpec:
    """Announce (webhook event ``evaluation.alert``) when the rule's ``metric`` over
    the last ``window_hours`` of runs goes ``direction`` the ``threshold``, and
    again when it comes back; measured only over at least ``min_count`` runs."""

    metric: str
    direction: str
    threshold: float
    window_hours: int = DEFAULT_ALERT_WINDOW_HOURS
    min_count: int = DEFAULT_ALERT_MIN_COUNT

    def crossed(self, value: float) -> bool:
        return value < self.threshold if self.direction == "below" else value > self.threshold

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AlertSpec:
        return cls(**doc)


@dataclass(frozen=True)
class RuleDefinition:
    filter: RunFilterSpec
    sampling_rate: float
    scorer: ScorerSpec
    # The feedback key scores are written to. For a task scorer, "<task>.<field>"
    # (filled in when the rule is checked).
    key: str | None = None
    limits: Limits = field(default_factory=Limits)
    alerts: list[AlertSpec] = field(default_factory=list)
    description: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["filter"]["metadata"] = [list(m) for m in self.filter.metadata]
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RuleDefinition:
        return cls(
            filter=RunFilterSpec.from_doc(doc.get("filter") or {}),
            sampling_rate=float(doc["sampling_rate"]),
            scorer=ScorerSpec.from_doc(doc["scorer"]),
            key=doc.get("key"),
            limits=Limits.from_doc(doc.get("limits") or {}),
            alerts=[AlertSpec.from_doc(a) for a in doc.get("alerts") or []],
            description=doc.get("description"),
        )


def _positive(value: float | None, name: str, *, minimum: float = 1) -> None:
    if value is not None and value < minimum:
        raise BadRequest(f"{name} must be at least {minimum:g}", field=name)


def check_filter(spec: RunFilterSpec) -> None:
    v.check_tags(spec.tags)
    for name in ("name", "model", "run_type", "tracing_project_id"):
        v.check_text(getattr(spec, name), f"filter.{name}")
    if len(spec.metadata) > MAX_METADATA_MATCHES:
        raise BadRequest(f"filter.metadata: at most {MAX_METADATA_MATCHES} fields")
    for path, value in spec.metadata:
        v.check_text(path, "filter.metadata.field")
        if not path or any(not part for part in path.split(".")):
            raise BadRequest(
                f"filter.metadata: {path!r} is not a dotted path (like user.plan)",
                field="filter.metadata",
            )
        v.check_json(value, "filter.metadata.value", v.MAX_VALUE_BYTES)


def check_limits(limits: Limits) -> None:
    _positive(limits.concurrency, "limits.concurrency")
    _positive(limits.calls_per_minute, "limits.callsPerMinute")
    _positive(limits.daily_calls, "limits.dailyCalls")
    _positive(limits.daily_tokens, "limits.dailyTokens")
    if not 1 <= limits.max_attempts <= MAX_ATTEMPTS:
        raise BadRequest(
            f"limits.maxAttempts must be between 1 and {MAX_ATTEMPTS}", field="limits.maxAttempts"
        )


def check_alerts(alerts: list[AlertSpec]) -> None:
    if len(alerts) > MAX_ALERTS:
        raise BadRequest(f"a rule can have at most {MAX_ALERTS} alerts", field="alerts")
    for alert in alerts:
        if alert.metric not in ALERT_METRICS:
            raise BadRequest(f"alerts: unknown metric {alert.metric!r}", field="alerts")
        if alert.direction not in ALERT_DIRECTIONS:
            raise BadRequest(f"alerts: unknown direction {alert.direction!r}", field="alerts")
        if not 1 <= alert.window_hours <= 24 * 90:
            raise BadRequest("alerts: windowHours must be between 1 and 2160", field="alerts")
        if not 1 <= alert.min_count <= 100_000:
            raise BadRequest("alerts: minCount must be between 1 and 100000", field="alerts")
        if alert.metric == "agreement" and not 0 <= alert.threshold <= 1:
            raise BadRequest(
                "alerts: an agreement threshold is a share, between 0 and 1", field="alerts"
            )


def check_common(definition: RuleDefinition) -> None:
    """The checks that need no database: filter, rate, limits, alerts."""
    rate = definition.sampling_rate
    if not 0 <= rate <= 1:
        raise BadRequest(
            f"samplingRate must be between 0 and 1, got {rate:g}", field="samplingRate"
        )
    if definition.scorer.kind not in SCORER_KINDS:
        raise BadRequest(
            f"unknown scorer kind {definition.scorer.kind!r}; one of {', '.join(SCORER_KINDS)}",
            field="scorer.kind",
        )
    if not 1 <= definition.scorer.examples <= MAX_EXAMPLES:
        raise BadRequest(
            f"scorer.examples must be between 1 and {MAX_EXAMPLES}", field="scorer.examples"
        )
    v.check_text(definition.description, "description", 2000)
    check_filter(definition.filter)
    check_limits(definition.limits)
    check_alerts(definition.alerts)
