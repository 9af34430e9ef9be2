"""OTLP attribute values as Python values."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from app.decoding import decode_json
from app.errors import BadRequest

# A value kept in a run's metadata is cut to this many characters (the metadata
# as a whole is limited to 64 KB); inputs and outputs are kept whole.
MAX_METADATA_VALUE_CHARS = 4096


def any_value(value: AnyValue) -> Any:
    """An AnyValue as JSON-able Python: bytes become base64 text, a NaN or an
    infinity its name (JSON has neither)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else str(number)
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """Key-value pairs as a dict; a key given twice keeps its last value. A NUL in
    a key (which no database key may hold) becomes U+FFFD."""
    return {pair.key.replace("\x00", "\ufffd"): any_value(pair.value) for pair in pairs}


def shortened(value: Any, limit: int = MAX_METADATA_VALUE_CHARS) -> Any:
    """``value`` with every string longer than ``limit`` cut, saying so."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}... [cut: {len(value)} characters]"
    if isinstance(value, list):
        return [shortened(item, limit) for item in value]
    if isinstance(value, dict):
        return {key: shortened(item, limit) for key, item in value.items()}
    return value


def unflatten(flat: dict[str, Any], prefix: str) -> list[Any]:
    """Attributes flattened with numbered keys (``p.0.message.role``,
    ``p.0.message.content``, ``p.1...``) as the list they flatten, each item a
    nested dict; numbered segments deeper down become lists too."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        if not key.startswith(prefix):
            continue
        node = tree
        parts = key[len(prefix) :].split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = node[part] = {"": child}
            node = child
        node[parts[-1]] = value
    listed = _as_lists(tree)
    return listed if isinstance(listed, list) else []


def _as_lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_as_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _as_lists(value) for key, value in node.items()}


def json_or_text(value: Any) -> Any:
    """JSON text parsed (with the request body's limits: nesting, numbers); other
    text, and values that are not text, as they are."""
    if not isinstance(value, str):
        return value
    try:
        return decode_json(value, "an attribute")
    except BadRequest:
        return value
