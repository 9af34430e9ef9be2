"""Fixed-window rate-limit counters in MongoDB, shared by every worker process.

One document per (limit, identity, window): ``{_id, count, expireAt}``, removed by
a TTL index on ``expireAt``. Windows are aligned to the epoch, so every worker
computes the same window key without asking the database.

The database's count is the allowance handed out, never more than the limit. A
process takes allowance in blocks (a lease) and admits requests from its block
without writing, so a busy key costs a write per block, not per request:

- The first hit on a key in a window leases 1; each later lease in that window
  doubles, up to ``max_block(limit)`` (a sixteenth of the limit). A key seen once
  or twice a window, which is most of them, costs what an exact counter costs.
- Taking a block is one conditional increment that decides by itself:
  ``update_one({_id, count: {$lte: limit - block}}, {$inc: {count: block}},
  upsert=True)`` matches while the block fits, creates the window's document on
  its first hit, and fails with a duplicate key when the block does not fit (the
  upsert tries to insert a second document with the same ``_id``). No read-back,
  and no findAndModify: the embedded store (SecantusDB 0.7) runs every
  findAndModify on an existing document as a scan of the whole collection.
- When a block does not fit, a block of 1 is tried; when that fails too, the
  window is full for good (counts never go down), and this process refuses the
  key's later hits in the window without asking the database.

So across any number of processes no more than ``limit`` requests are admitted
in a window. A process may refuse early while another still holds unused units
of its block: at most ``max_block(limit) - 1`` per other process, and none with
one process or with limits under 32. Units leased and unused when a window ends
(or when a process stops) are simply not used.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import WriteConcern
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.errors import RateLimited

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


@dataclass(frozen=True)
class Quota:
    """Limits counted inside the document they limit, by the same revision-checked
    write that changes it, so they cost no write of their own. The per-token limit
    is one: every request through a token changes the one feedback record the
    token writes. Stored as ``quota: {"<limit>per<seconds>": {start, count}}``.
    """

    limits: tuple[tuple[int, Window], ...]
    refusal: str  # the message when over
    now: float  # the moment the windows were taken at

    @property
    def first(self) -> dict[str, dict[str, int]]:
        """The quota field of a document created by the first counted change."""
        return {slot(limit, w): {"start": w.start, "count": 1} for limit, w in self.limits}

    def take(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The ``$set`` fields counting one more change of ``doc``; RateLimited
        when a window is full (nothing is then written)."""
        counted = doc.get("quota") or {}
        sets: dict[str, Any] = {}
        for limit, window in self.limits:
            name = slot(limit, window)
            entry = counted.get(name) or {}
            # A count from an earlier window does not carry over.
            count = entry.get("count", 0) if entry.get("start") == window.start else 0
            if count >= limit:
                retry_after = window.retry_after(self.now)
                raise RateLimited(f"{self.refusal}; retry in {retry_after} s", retry_after)
            sets[f"quota.{name}"] = {"start": window.start, "count": count + 1}
        return sets


def slot(limit: int, window: Window) -> str:
    """A limit's name in counter keys and quota fields: ``30per60``."""
    return f"{limit}per{window.seconds}"


def max_block(limit: int) -> int:
    """The largest lease on a key with this limit: a sixteenth of it, so a process
    can hold back at most about 6% of a window from the others."""
    return max(1, limit // 16)


@dataclass
class Lease:
    """This process's share of one key's window."""

    window: Window
    left: int = 0  # units leased and not yet used
    block: int = 0  # size of the last block leased; 0 before the first
    full: bool = False  # the database refused a block of 1: no more this window
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RateLimitCounters:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        # Counters are not data anyone was promised: a crash losing the last few
        # counts lets a few extra requests through, nothing more. So they skip the
        # journal wait every acknowledged feedback write pays (see app/store/client.py).
        self.collection = db[COLLECTION].with_options(write_concern=WriteConcern(w=1, j=False))
        self._leases: dict[str, Lease] = {}
        self._first_end = math.inf  # the earliest end of a held lease's window

    @property
    def leases_held(self) -> int:
        """Keys this process holds a lease for (windows not yet swept)."""
        return len(self._leases)

    async def hit(self, key: str, limit: int, window: Window) -> bool:
        """Admit one hit on ``key`` in ``window`` if the limit allows it; False
        (nothing counted) when the window's allowance is used up."""
        counter = f"{key}:{window.start}"
        lease = self._leases.get(counter)
        if lease is None:
            # No clock here: the rate limits' clock decided the window, and every
            # window that ended by its start is over.
            self._sweep(window.start)
            lease = self._leases[counter] = Lease(window)
            self._first_end = min(self._first_end, window.end)
        if lease.left == 0 and not lease.full:
            async with lease.lock:  # one lease request per key at a time
                if lease.left == 0 and not lease.full:
                    await self._lease(counter, limit, lease)
        if lease.left == 0:
            return False
        lease.left -= 1
        return True

    async def _lease(self, counter: str, limit: int, lease: Lease) -> None:
        block = min(max(1, lease.block * 2), max_block(limit))
        if block > 1 and await self._take(counter, limit, lease.window, block):
            lease.block = lease.left = block
        elif await self._take(counter, limit, lease.window, 1):
            lease.block = lease.left = 1
        else:
            lease.full = True

    async def _take(self, counter: str, limit: int, window: Window, block: int) -> bool:
        room = {"_id": counter, "count": {"$lte": limit - block}}
        increment: dict[str, Any] = {"$inc": {"count": block}}
        expire_at = datetime.fromtimestamp(window.end, UTC)
        try:
            await self.collection.update_one(
                room, {**increment, "$setOnInsert": {"expireAt": expire_at}}, upsert=True
            )
            return True
        except DuplicateKeyError:
            # Either the block does not fit, or another first hit created the
            # document a moment before ours: the increment without upsert tells.
            result = await self.collection.update_one(room, increment)
            return result.matched_count == 1

    async def add(self, key: str, window: Window, amount: int) -> None:
        """Count ``amount`` more on a plain tally for ``key`` in ``window`` (tokens
        an online evaluation used: known only after the call)."""
        if amount <= 0:
            return
        expire_at = datetime.fromtimestamp(window.end, UTC)
        await self.collection.update_one(
            {"_id": f"{key}:{window.start}"},
            {"$inc": {"count": amount}, "$setOnInsert": {"expireAt": expire_at}},
            upsert=True,
        )

    async def total(self, key: str, window: Window) -> int:
        """What a plain tally (``add``) holds for ``key`` in ``window``."""
        doc = await self.collection.find_one({"_id": f"{key}:{window.start}"}, {"count": 1})
        return int(doc["count"]) if doc else 0

    def _sweep(self, now: float) -> None:
        """Forget the leases of windows that have ended (a scan only when one has)."""
        if now < self._first_end:
            return
        self._leases = {c: lease for c, lease in self._leases.items() if lease.window.end > now}
        ends = (lease.window.end for lease in self._leases.values())
        self._first_end = min(ends, default=math.inf)
