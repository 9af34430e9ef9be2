"""MISSING: a field the caller did not send (as opposed to sending null)."""

from typing import Any

MISSING: Any = object()
