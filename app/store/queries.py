"""Small helpers for building MongoDB filters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def one_of(values: Iterable[Any]) -> Any:
    """A filter value matching any of ``values``: the value itself when there is
    one (the embedded store plans an equality where it would scan for ``$in``
    next to a sort), else ``{"$in": [...]}``."""
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else {"$in": distinct}
