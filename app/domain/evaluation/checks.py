"""Built-in checks: scores that need no model. Each reads one text of the run (its
output by default) or one of its numbers, and answers pass (true) or fail (false);
where it measures something (a length, a latency, a token count) the measure goes
in the feedback's ``value``.

| type | passes when |
|---|---|
| ``valid_json`` | the text parses as JSON |
| ``json_schema`` | the text parses as JSON and is valid against ``json_schema`` |
| ``regex_match`` | ``pattern`` matches somewhere in the text |
| ``regex_no_match`` | ``pattern`` matches nowhere in the text |
| ``length`` | the text has at least ``min_length`` and at most ``max_length`` characters |
| ``latency`` | the run's latency is at most ``max_latency_ms`` |
| ``tokens`` | the run's total tokens are at most ``max_tokens`` |
| ``contains_any`` | the text contains at least one of ``words`` |
| ``contains_none`` | the text contains none of ``words`` |

Words match as whole words; words and patterns match case-sensitively unless
``ignore_case`` is set. The text: a string as it is; an object whose only
field is a string, or whose ``content`` is one, that string; anything else as
JSON. ``path`` picks one field first (``answer.text``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app.domain import validation as v
from app.domain.evaluation.definition import CheckSpec
from app.domain.export.shape import text_or_value
from app.errors import BadRequest
from app.store.runs import Run

CHECK_TYPES = (
    "valid_json",
    "json_schema",
    "regex_match",
    "regex_no_match",
    "length",
    "latency",
    "tokens",
    "contains_any",
    "contains_none",
)
TEXT_CHECKS = frozenset(CHECK_TYPES) - {"latency", "tokens"}
MAX_PATTERN_CHARS = 1000
MAX_WORDS = 1000
# Characters of a run's text a check reads (a regex on a megabyte is not a check).
MAX_TEXT_CHARS = 100_000


class NotApplicable(Exception):
    """The check cannot say anything about this run (no latency recorded, no such
    field): the evaluation is skipped, not failed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    value: dict[str, Any]


def check_spec(spec: CheckSpec) -> CheckSpec:
    """Refuse a check that cannot run, with the reason."""
    if spec.type not in CHECK_TYPES:
        raise BadRequest(
            f"unknown check type {spec.type!r}; one of {', '.join(CHECK_TYPES)}",
            field="scorer.check.type",
        )
    if spec.target not in ("outputs", "inputs"):
        raise BadRequest("scorer.check.target must be outputs or inputs", field="target")
    if spec.path is not None and (not spec.path or any(not p for p in spec.path.split("."))):
        raise BadRequest(f"scorer.check.path {spec.path!r} is not a dotted path", field="path")
    if spec.type == "json_schema":
        if not isinstance(spec.json_schema, dict):
            raise BadRequest("a json_schema check needs jsonSchema (an object)", field="jsonSchema")
        v.check_json(spec.json_schema, "jsonSchema", v.MAX_VALUE_BYTES)
        try:
            Draft202012Validator.check_schema(spec.json_schema)
        except SchemaError as exc:
            raise BadRequest(
                f"jsonSchema is not a valid JSON Schema: {exc.message}", field="jsonSchema"
            ) from None
    if spec.type in ("regex_match", "regex_no_match"):
        if not spec.pattern:
            raise BadRequest(f"a {spec.type} check needs a pattern", field="pattern")
        if len(spec.pattern) > MAX_PATTERN_CHARS:
            raise BadRequest(f"pattern is longer than {MAX_PATTERN_CHARS} characters")
        try:
            re.compile(spec.pattern)
        except re.error as exc:
            raise BadRequest(
                f"pattern is not a regular expression: {exc}", field="pattern"
            ) from None
    if spec.type == "length":
        if spec.min_length is None and spec.max_length is None:
            raise BadRequest("a length check needs minLength, maxLength or both")
        for name in ("min_length", "max_length"):
            value = getattr(spec, name)
            if value is not None and value < 0:
                raise BadRequest(f"{name} must not be negative")
        if (
            spec.min_length is not None
            and spec.max_length is not None
            and spec.min_length > spec.max_length
        ):
            raise BadRequest("minLength is more than maxLength")
    if spec.type == "latency" and (spec.max_latency_ms is None or spec.max_latency_ms < 0):
        raise BadRequest("a latency check needs maxLatencyMs (0 or more)", field="maxLatencyMs")
    if spec.type == "tokens" and (spec.max_tokens is None or spec.max_tokens < 0):
        raise BadRequest("a tokens check needs maxTokens (0 or more)", field="maxTokens")
    if spec.type in ("contains_any", "contains_none"):
        words = [w for w in spec.words if w.strip()]
        if not words:
            raise BadRequest(f"a {spec.type} check needs words", field="words")
        if len(spec.words) > MAX_WORDS:
            raise BadRequest(f"at most {MAX_WORDS} words")
        for word in spec.words:
            v.check_text(word, "words", 200)
    return spec


def run_text(run: Run, spec: CheckSpec) -> str:
    """The text a check reads (see the module doc)."""
    value: Any = run.outputs if spec.target == "outputs" else run.inputs
    if spec.path is not None:
        for part in spec.path.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise NotApplicable(f"the run's {spec.target} have no field {spec.path}")
    if value is None:
        raise NotApplicable(f"the run has no {spec.target}")
    value = text_or_value(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:MAX_TEXT_CHARS]


class Check:
    """A checked spec, compiled once, applied to many runs."""

    def __init__(self, spec: CheckSpec) -> None:
        self.spec = check_spec(spec)
        flags = re.IGNORECASE if spec.ignore_case else 0
        self.regex = re.compile(spec.pattern, flags) if spec.pattern else None
        self.validator = Draft202012Validator(spec.json_schema) if spec.json_schema else None
        words = [w.strip() for w in spec.words if w.strip()]
        self.words = (
            re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)",
                flags,
            )
            if words
            else None
        )

    @property
    def name(self) -> str:
        return self.spec.type

    def apply(self, run: Run) -> CheckResult:
        kind = self.spec.type
        if kind == "latency":
            if run.latency_ms is None:
                raise NotApplicable("the run has no latency (no end time)")
            limit = self.spec.max_latency_ms
            assert limit is not None
            return CheckResult(run.latency_ms <= limit, {"latency_ms": run.latency_ms})
        if kind == "tokens":
            if run.total_tokens is None:
                raise NotApplicable("the run has no token count")
            assert self.spec.max_tokens is not None
            return CheckResult(
                run.total_tokens <= self.spec.max_tokens, {"total_tokens": run.total_tokens}
            )
        text = run_text(run, self.spec)
        if kind in ("valid_json", "json_schema"):
            try:
                parsed = json.loads(text)
            except ValueError as exc:
                return CheckResult(False, {"error": f"not JSON: {exc}"[:300]})
            if kind == "valid_json":
                return CheckResult(True, {})
            assert self.validator is not None
            errors = sorted(self.validator.iter_errors(parsed), key=lambda e: e.json_path)
            if errors:
                first = errors[0]
                return CheckResult(
                    False,
                    {"error": f"{first.json_path}: {first.message}"[:300], "errors": len(errors)},
                )
            return CheckResult(True, {})
        if kind in ("regex_match", "regex_no_match"):
            assert self.regex is not None
            found = self.regex.search(text)
            passed = (found is not None) == (kind == "regex_match")
            return CheckResult(passed, {"match": found.group(0)[:200]} if found else {})
        if kind == "length":
            length = len(text)
            low, high = self.spec.min_length, self.spec.max_length
            passed = (low is None or length >= low) and (high is None or length <= high)
            return CheckResult(passed, {"length": length})
        assert self.words is not None
        seen = sorted({m.group(0) for m in self.words.finditer(text)})[:20]
        passed = bool(seen) == (kind == "contains_any")
        return CheckResult(passed, {"found": seen})
