"""Records to JSON Lines bytes: one object a line, UTF-8, sent in chunks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

CHUNK_BYTES = 64 * 1024


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def encode_line(record: dict[str, Any]) -> bytes:
    text = json.dumps(
        record, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default
    )
    return text.encode() + b"\n"


async def jsonl_chunks(
    records: AsyncIterator[dict[str, Any]], chunk_bytes: int = CHUNK_BYTES
) -> AsyncIterator[bytes]:
    """Whole lines, gathered into chunks of about ``chunk_bytes``."""
    buffer: list[bytes] = []
    size = 0
    async for record in records:
        line = encode_line(record)
        buffer.append(line)
        size += len(line)
        if size >= chunk_bytes:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)
