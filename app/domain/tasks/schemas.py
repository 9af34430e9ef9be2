"""A feedback task's rubric: a JSON Schema (Draft 2020-12) for an object.

The ``jsonschema`` library does the checking: ``check_schema`` on create (with the
validator's own message when a schema is not a schema) and ``iter_errors`` on submit,
so every failing field is reported with its JSON path, not only the first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from app.domain import validation as v
from app.errors import BadRequest

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# Schema keyword Plaudit reads on a numeric field: false when a lower score is better.
HIGHER_IS_BETTER = "x-higher-is-better"
MAX_ERRORS = 100


class InvalidTaskValues(BadRequest):
    """Values that do not match the task's schema; ``errors`` lists every failure."""


@dataclass(frozen=True)
class MetricField:
    """A top-level numeric or boolean field: it becomes a feedback metric."""

    name: str
    kind: str  # "number" | "boolean"
    minimum: float | None
    maximum: float | None
    higher_is_better: bool
    description: str | None


@dataclass(frozen=True)
class FieldKind:
    """How agreement is measured on a top-level field."""

    name: str
    measure: str  # "numeric" (mean absolute difference) | "exact" (share of agreement)


def _types(prop: dict[str, Any]) -> set[str]:
    declared = prop.get("type")
    if isinstance(declared, str):
        return {declared} - {"null"}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)} - {"null"}
    return set()


def _refs(node: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                yield f"{path}.{key}", value
            else:
                yield from _refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs(value, f"{path}[{i}]")


def check_task_schema(schema: Any) -> dict[str, Any]:
    """Reject anything that is not a Draft 2020-12 schema for an object."""
    if not isinstance(schema, dict):
        raise BadRequest("schema must be a JSON object (a JSON Schema)", field="schema")
    v.check_json(schema, "schema", v.MAX_VALUE_BYTES)
    declared = schema.get("$schema")
    if declared is not None and declared.rstrip("#") != DRAFT_2020_12:
        raise BadRequest(
            f"schema: only JSON Schema Draft 2020-12 is supported ($schema {DRAFT_2020_12})",
            field="schema",
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise BadRequest(
            f"schema is not a valid JSON Schema: {exc.message} (at {exc.json_path})",
            field="schema",
        ) from None
    if schema.get("type") != "object":
        raise BadRequest('schema must describe an object: give it "type": "object"', field="schema")
    resolver = Registry().with_resource("", DRAFT202012.create_resource(schema)).resolver()
    for where, ref in _refs(schema):
        if not ref.startswith("#"):
            raise BadRequest(
                f"schema: only references inside the schema are allowed ('#...'), "
                f"got {ref!r} at {where}",
                field="schema",
            )
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise BadRequest(
                f"schema: the reference {ref!r} at {where} points to nothing", field="schema"
            ) from None
    for name, prop in (schema.get("properties") or {}).items():
        flag = prop.get(HIGHER_IS_BETTER) if isinstance(prop, dict) else None
        if flag is not None and not isinstance(flag, bool):
            raise BadRequest(f"schema: {HIGHER_IS_BETTER} of {name!r} must be true or false")
    return schema


def _error_path(error: ValidationError) -> str:
    path = error.json_path
    required = error.validator_value
    if error.validator == "required" and isinstance(error.instance, dict):
        for name in required if isinstance(required, list) else []:
            if name not in error.instance and error.message == f"{name!r} is a required property":
                return f"{path}.{name}" if path != "$" else f"$.{name}"
    return path


def validation_errors(schema: dict[str, Any], values: Any) -> list[dict[str, str]]:
    """Every way ``values`` fails ``schema``: [{path, message, keyword}], by path."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    try:
        errors = [
            {"path": _error_path(e), "message": e.message, "keyword": str(e.validator)}
            for e in validator.iter_errors(values)
        ]
    except Unresolvable as exc:
        raise BadRequest(
            f"the task's schema has a reference that does not resolve: {exc}"
        ) from None
    errors.sort(key=lambda e: (e["path"], e["keyword"]))
    return errors[:MAX_ERRORS]


def check_values(schema: dict[str, Any], values: Any, version: int) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise InvalidTaskValues(
            "values must be a JSON object",
            errors=[{"path": "$", "message": "values must be a JSON object", "keyword": "type"}],
        )
    v.check_json(values, "values", v.MAX_VALUE_BYTES)
    errors = validation_errors(schema, values)
    if errors:
        fields = ", ".join(dict.fromkeys(e["path"] for e in errors))
        raise InvalidTaskValues(
            f"values do not match the task's schema (version {version}): "
            f"{len(errors)} error{'s' if len(errors) != 1 else ''} at {fields}",
            errors=errors,
            version=version,
        )
    return values


def _bound(prop: dict[str, Any], inclusive: str, exclusive: str) -> float | None:
    for name in (inclusive, exclusive):
        value = prop.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def metric_fields(schema: dict[str, Any]) -> list[MetricField]:
    """Top-level properties whose type is number/integer or boolean (null allowed)."""
    result = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        types = _types(prop)
        if types and types <= {"number", "integer"}:
            kind = "number"
        elif types == {"boolean"}:
            kind = "boolean"
        else:
            continue
        low = _bound(prop, "minimum", "exclusiveMinimum") if kind == "number" else None
        high = _bound(prop, "maximum", "exclusiveMaximum") if kind == "number" else None
        if low is not None and high is not None and low >= high:
            low = high = None
        description = prop.get("description") or prop.get("title")
        result.append(
            MetricField(
                name=name,
                kind=kind,
                minimum=low,
                maximum=high,
                higher_is_better=prop.get(HIGHER_IS_BETTER, True),
                description=description if isinstance(description, str) else None,
            )
        )
    return result


def agreement_fields(schema: dict[str, Any]) -> list[FieldKind]:
    """Top-level fields agreement is measured on: numbers by mean absolute
    difference; booleans and fields with ``enum``/``const`` by exact agreement.
    Free text, arrays and objects are left out."""
    result = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        types = _types(prop)
        if types and types <= {"number", "integer"} and "enum" not in prop:
            result.append(FieldKind(name, "numeric"))
        elif types == {"boolean"} or "enum" in prop or "const" in prop:
            result.append(FieldKind(name, "exact"))
    return result
