"""Size limits and shape checks shared by every way data comes in."""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.errors import BadRequest

MAX_JSON_BYTES = 1024 * 1024  # inputs, outputs: 1 MB each per run
MAX_METADATA_BYTES = 64 * 1024
MAX_VALUE_BYTES = 64 * 1024  # feedback value, source_info
MAX_CORRECTION_BYTES = 256 * 1024
MAX_COMMENT_CHARS = 10_000
MAX_SHORT_CHARS = 512  # names, keys, ids given by clients
MAX_TAGS = 100
MAX_BATCH = 500
MAX_DEPTH = 64


def check_uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise BadRequest(f"{field} must be a UUID, got {str(value)[:80]!r}", field=field) from None


def check_text(value: str | None, field: str, limit: int = MAX_SHORT_CHARS) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        raise BadRequest(
            f"{field} is too long: {len(value)} characters, the limit is {limit}", field=field
        )
    if "\x00" in value:
        raise BadRequest(f"{field} must not contain NUL characters", field=field)
    return value


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def check_json(value: Any, field: str, limit: int = MAX_JSON_BYTES) -> Any:
    if value is None:
        return None
    if _depth(value) > MAX_DEPTH:
        raise BadRequest(f"{field} is nested more than {MAX_DEPTH} levels deep", field=field)
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{field} is not valid JSON: {exc}", field=field) from None
    if size > limit:
        raise BadRequest(f"{field} is too large: {size} bytes, the limit is {limit}", field=field)
    _check_keys(value, field)
    return value


def _check_keys(value: Any, field: str) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if "\x00" in k:
                raise BadRequest(f"{field} has a key with a NUL character", field=field)
            _check_keys(v, field)
    elif isinstance(value, list):
        for v in value:
            _check_keys(v, field)


def check_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"a run can have at most {MAX_TAGS} tags", field="tags")
    for tag in tags:
        check_text(tag, "tags", 200)
    return list(dict.fromkeys(tags))
