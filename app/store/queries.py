"""Small helpers for building MongoDB filters and revision-checked changes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# A change written with update_one({_id, rev}) after a read, and overtaken by
# another change in between, is recomputed; this many times before the request is
# answered with a conflict. Each round lets at least one of the racing changes
# land, so this many changes to one document at the same moment all land.
CHANGE_ATTEMPTS = 20


def one_of(values: Iterable[Any]) -> Any:
    """A filter value matching any of ``values``: the value itself when there is
    one (the embedded store plans an equality where it would scan for ``$in``
    next to a sort), else ``{"$in": [...]}``."""
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else {"$in": distinct}
