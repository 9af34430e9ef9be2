"""Store arbitrary client JSON in MongoDB without letting its keys act as operators.

Keys that start with ``$`` or contain ``.`` or ``%`` are percent-escaped on the way in
and restored on the way out, so ``{"$gt": ""}`` in a run's inputs is stored as data,
never interpreted, and reads back exactly as it was sent.
"""

from __future__ import annotations

from typing import Any


def _escape_key(key: str) -> str:
    if "\x00" in key:
        raise ValueError("JSON object keys must not contain NUL characters")
    if "%" in key:
        key = key.replace("%", "%25")
    if "." in key:
        key = key.replace(".", "%2E")
    if key.startswith("$"):
        key = "%24" + key[1:]
    return key


def _unescape_key(key: str) -> str:
    if "%" not in key:
        return key
    if key.startswith("%24"):
        key = "$" + key[3:]
    return key.replace("%2E", ".").replace("%25", "%")


def escape(value: Any) -> Any:
    if isinstance(value, dict):
        return {_escape_key(str(k)): escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape(v) for v in value]
    return value


def unescape(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unescape_key(k): unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape(v) for v in value]
    return value


def escape_field(name: str) -> str:
    """Escape one key, as used in a dotted query path (``metadata.<name>``)."""
    return _escape_key(name)


def unescape_field(name: str) -> str:
    """The key that :func:`escape_field` escaped."""
    return _unescape_key(name)
