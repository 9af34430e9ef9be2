from __future__ import annotations

import math
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, ValueNode, value_from_ast_untyped
from strawberry.scalars import JSON
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

from app.decoding import INT64_MAX, INT64_MIN, check_json_value
from app.errors import PlauditError

__all__ = ["JSON", "SCALARS", "Score"]

Score = NewType("Score", object)


def _parse_score(value: Any) -> float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("Score must fit in a signed 64-bit integer (-2**63 to 2**63-1)")
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    raise ValueError(f"Score must be a finite number or a boolean, got {value!r}")


def _parse_json_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    """A JSON value written in the query: the checks request bodies get (variables
    had them already, as part of the body)."""
    try:
        return check_json_value(value_from_ast_untyped(node, variables), "the JSON value")
    except PlauditError as exc:
        raise GraphQLError(f"JSON literal: {exc.message}", node) from None


_JSON = DEFAULT_SCALAR_REGISTRY[JSON]

SCALARS: dict[object, ScalarDefinition] = {
    Score: strawberry.scalar(
        name="Score",
        description="A feedback score: a finite number or a boolean.",
        serialize=lambda value: value,
        parse_value=_parse_score,
    ),
    JSON: strawberry.scalar(
        name=_JSON.name,
        description=_JSON.description,
        specified_by_url=_JSON.specified_by_url,
        serialize=lambda value: value,
        parse_value=lambda value: value,
        parse_literal=_parse_json_literal,
    ),
}
