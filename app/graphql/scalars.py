from __future__ import annotations

import math
from typing import Any, NewType

import strawberry
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

__all__ = ["JSON", "SCALARS", "Score"]

Score = NewType("Score", object)


def _parse_score(value: Any) -> float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    raise ValueError(f"Score must be a finite number or a boolean, got {value!r}")


SCALARS: dict[object, ScalarDefinition] = {
    Score: strawberry.scalar(
        name="Score",
        description="A feedback score: a finite number or a boolean.",
        serialize=lambda value: value,
        parse_value=_parse_score,
    ),
}
