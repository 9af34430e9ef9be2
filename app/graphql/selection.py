"""What a query asked for, to skip work nobody will see."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import Selection


def _walk(selections: list[Selection], names: set[str]) -> None:
    for selection in selections:
        name = getattr(selection, "name", None)
        if name is not None:
            names.add(name)
        _walk(getattr(selection, "selections", None) or [], names)


def selected_names(info: Info[Any, Any]) -> set[str]:
    """Every field name selected under the current field, at any depth."""
    names: set[str] = set()
    for field in info.selected_fields:
        _walk(field.selections, names)
    return names
