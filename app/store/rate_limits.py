"""Rate-limit counters in MongoDB, shared by every worker process.

A ``limits`` async storage backed by our own ``AsyncMongoClient``. The ``limits``
library ships an async MongoDB storage, but it needs Motor, which Plaudit does not
use (pymongo's own asyncio API replaces it); this class implements the small
storage interface the fixed-window strategy needs, with the same document shape
(``{_id: key, count, expireAt}``, removed by a TTL index on ``expireAt``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from limits.aio.storage import Storage
from pymongo import ReturnDocument, WriteConcern
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from app.errors import Unavailable

COLLECTION = "rate_limits"


class RateLimitStorageBusy(Unavailable):
    """A counter that could not be updated after retries (503, retry)."""


class MongoRateLimitStorage(Storage):
    """Fixed-window counters: one document per (limit, identity, window)."""

    # Never registered under a URI scheme: built with our client's database.
    STORAGE_SCHEME = None

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(uri=None, wrap_exceptions=False)
        # Counters are not data anyone was promised: a crash losing the last few
        # counts lets a few extra requests through, nothing more. So they skip the
        # journal wait every acknowledged feedback write pays (see app/db.py).
        self.collection = db[COLLECTION].with_options(write_concern=WriteConcern(w=1, j=False))

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return PyMongoError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the key's counter, starting a new window of ``expiry``
        seconds when there is none or the last one has ended. One atomic write."""
        expire_at = datetime.now(UTC) + timedelta(seconds=expiry)
        ended = {"$lt": [{"$ifNull": ["$expireAt", None]}, "$$NOW"]}
        update = [
            {
                "$set": {
                    "count": {
                        "$cond": [ended, amount, {"$add": [{"$ifNull": ["$count", 0]}, amount]}]
                    },
                    "expireAt": {"$cond": [ended, expire_at, "$expireAt"]},
                }
            }
        ]
        for _ in range(3):
            try:
                doc = await self.collection.find_one_and_update(
                    {"_id": key},
                    update,
                    upsert=True,
                    projection={"count": 1},
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Two first hits in a window raced to insert the counter; the loser
                # increments the winner's.
                continue
            if doc is None:
                # The embedded server (SecantusDB 0.7) can answer an upsert racing
                # other first upserts of the same key with no document, although it
                # applied the increment: read the counter rather than add again.
                doc = await self.collection.find_one({"_id": key}, {"count": 1})
            if doc is not None:
                return int(doc["count"])
        raise RateLimitStorageBusy(f"rate-limit counter {key!r} is contended; retry")

    async def get(self, key: str) -> int:
        doc = await self.collection.find_one(
            {"_id": key, "expireAt": {"$gte": datetime.now(UTC)}}, {"count": 1}
        )
        return int(doc["count"]) if doc else 0

    async def get_expiry(self, key: str) -> float:
        doc = await self.collection.find_one({"_id": key}, {"expireAt": 1})
        at: datetime = doc["expireAt"] if doc else datetime.now(UTC)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return at.timestamp()

    async def check(self) -> bool:
        try:
            await self.collection.database.command("ping")
        except PyMongoError:
            return False
        return True

    async def reset(self) -> int | None:
        result = await self.collection.delete_many({})
        return result.deleted_count

    async def clear(self, key: str) -> None:
        await self.collection.delete_one({"_id": key})
