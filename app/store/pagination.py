"""Keyset pagination over ``(<time field>, _id)``, newest first."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection

from app.decoding import decode_json
from app.errors import BadRequest

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class InvalidCursor(BadRequest):
    pass


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def encode_cursor(at: datetime, doc_id: str) -> str:
    raw = json.dumps([at.isoformat(), doc_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_raw, doc_id = decode_json(base64.urlsafe_b64decode(padded.encode()), "the cursor")
        at = datetime.fromisoformat(at_raw)
        if not isinstance(doc_id, str) or at.tzinfo is None:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, BadRequest):
        raise InvalidCursor(f"invalid cursor: {cursor[:80]!r}") from None
    return at, doc_id


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 1 or first > MAX_PAGE_SIZE:
        raise BadRequest(f"first must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    return first


async def fetch_page(
    collection: AsyncCollection[dict[str, Any]],
    query: Mapping[str, Any],
    *,
    first: int | None,
    after: str | None,
    time_field: str,
    build: Callable[[dict[str, Any]], T],
    oldest_first: bool = False,
    projection: Mapping[str, Any] | None = None,
) -> Page[T]:
    size = page_size(first)
    direction = 1 if oldest_first else -1
    sort = [(time_field, direction), ("_id", direction)]
    queries = [dict(query)] if after is None else _past_cursor(query, time_field, after, direction)
    docs: list[dict[str, Any]] = []
    for part in queries:
        wanted = size + 1 - len(docs)
        if wanted <= 0:
            break
        docs += await collection.find(part, projection, sort=sort).limit(wanted).to_list()
    has_next = len(docs) > size
    docs = docs[:size]
    return Page(
        items=[build(doc) for doc in docs],
        cursors=[encode_cursor(doc[time_field], doc["_id"]) for doc in docs],
        has_next_page=has_next,
    )


def _past_cursor(
    query: Mapping[str, Any], time_field: str, after: str, direction: int
) -> list[dict[str, Any]]:
    """The records past cursor ``after``, in page order, as queries to run one
    after the other: those at the cursor's time past its id, then those past its
    time. Each is a plain index range; the same condition written as one ``$or``
    makes the embedded store scan the whole collection (and sort it in memory) on
    every page after the first. ``query``'s own condition on the time field, an
    exclusive range (app/store/ranges.py), is kept; any other shape, or a
    condition on ``_id``, falls back to the ``$or``."""
    at, doc_id = decode_cursor(after)
    op = "$gt" if direction == 1 else "$lt"
    current = query.get(time_field)
    if "_id" in query or not (current is None or _exclusive_range(current)):
        keyset = {"$or": [{time_field: {op: at}}, {time_field: at, "_id": {op: doc_id}}]}
        return [{"$and": [dict(query), keyset]} if query else keyset]
    bound = dict(current or {})
    if op in bound:
        bound[op] = min(bound[op], at) if op == "$lt" else max(bound[op], at)
    else:
        bound[op] = at
    past = {**query, time_field: bound}
    if current is not None and not _inside(current, at):
        return [past]
    return [{**query, time_field: at, "_id": {op: doc_id}}, past]


def _exclusive_range(condition: Any) -> bool:
    return isinstance(condition, dict) and bool(condition) and set(condition) <= {"$gt", "$lt"}


def _inside(condition: Mapping[str, Any], at: datetime) -> bool:
    low, high = condition.get("$gt"), condition.get("$lt")
    return (low is None or at > low) and (high is None or at < high)
