"""Fixed-window rate-limit counters in MongoDB, shared by every worker process.

One document per (limit, identity, window): ``{_id, count, expireAt}``, removed by
a TTL index on ``expireAt``. Windows are aligned to the epoch, so every worker
computes the same window key without asking the database.

A hit is one conditional increment, which decides by itself:
``update_one({_id, count: {$lt: limit}}, {$inc: {count}}, upsert=True)``
matches while there is room, creates the window's document on its first hit, and
fails with a duplicate key once the window is full (the upsert tries to insert a
second document with the same ``_id``). No read-back, and no findAndModify: the
embedded store (SecantusDB 0.7) runs every findAndModify on an existing document
as a scan of the whole collection, where this is a point lookup on ``_id``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import WriteConcern
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

COLLECTION = "rate_limits"


@dataclass(frozen=True)
class Window:
    """The fixed window a moment falls in, for a limit of ``seconds`` length."""

    start: int  # epoch seconds
    seconds: int

    @classmethod
    def at(cls, now: float, seconds: int) -> Window:
        return cls(int(now // seconds) * seconds, seconds)

    @property
    def end(self) -> int:
        return self.start + self.seconds

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(1, math.ceil(self.end - now))


class RateLimitCounters:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        # Counters are not data anyone was promised: a crash losing the last few
        # counts lets a few extra requests through, nothing more. So they skip the
        # journal wait every acknowledged feedback write pays (see app/db.py).
        self.collection = db[COLLECTION].with_options(write_concern=WriteConcern(w=1, j=False))

    async def hit(self, key: str, limit: int, window: Window) -> bool:
        """Count one hit on ``key`` in ``window`` if fewer than ``limit`` were
        counted there; False (nothing counted) when the window is full."""
        counter = f"{key}:{window.start}"
        room = {"_id": counter, "count": {"$lt": limit}}
        increment: dict[str, Any] = {"$inc": {"count": 1}}
        expire_at = datetime.fromtimestamp(window.end, UTC)
        try:
            await self.collection.update_one(
                room, {**increment, "$setOnInsert": {"expireAt": expire_at}}, upsert=True
            )
            return True
        except DuplicateKeyError:
            # Either the window is full, or another first hit created the document
            # a moment before ours: the increment without upsert tells which.
            result = await self.collection.update_one(room, increment)
            return result.matched_count == 1
