"""Group commit: concurrent inserts into one collection sent as one bulk command
(and concurrent reads of one document by ``_id`` sent as one ``find``).

The store does far more work per command than per document (and a journaled
write pays a journal flush per command), so under load the hot path's inserts
are coalesced: an insert goes at once when no bulk of its collection is in
flight (no added latency at low load); otherwise it waits for that bulk to be
answered, at most ``window`` seconds, or until ``max_size`` inserts are waiting,
and goes with the others that arrived meanwhile in one unordered ``insert``.

Each caller is answered only once its own document is acknowledged (with the
collection's write concern), and gets its own outcome: nothing, or the
``DuplicateKeyError``/``WriteError`` its document alone caused, exactly as
``insert_one`` would raise it. A bulk that fails as a whole (the store
unreachable, a write concern error) fails the inserts it carried, with the
driver's own exception, and nothing else. A document is encoded by its caller,
so one that cannot be stored (not encodable, too large) fails there, before it
can spoil a bulk.

Reads by ``_id`` on the hot path (a widget token's record, read by every first
vote) are grouped the same way by ``GroupReads``: one ``find`` with ``$in``. A
read is sent after it was asked, so it sees every write acknowledged before.

Of the writes, only inserts are grouped. Revision-checked updates and token use counts were
grouped too (as never-inserting upserts, so that each learns whether it matched;
see the git history), but on the embedded store one ``update`` command of 16
such updates ran at 135 updates/s against 185/s for 16 concurrent
``update_one``: it applies the updates of one command one after the other. They
stay single until measured on a store where a command's journal flush dominates."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import bson
from bson.raw_bson import RawBSONDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    BulkWriteError,
    DocumentTooLarge,
    DuplicateKeyError,
    WriteConcernError,
    WriteError,
)

# How long an insert may wait for the bulk in flight before going in a bulk of
# its own, and how many inserts one bulk carries at most.
WINDOW_SECONDS = 0.002
MAX_SIZE = 64
# What a document may weigh (MongoDB's maxBsonObjectSize).
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
# The codes of a duplicate key (as pymongo tells them apart).
DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})

T = TypeVar("T")


@dataclass(frozen=True)
class _Waiting(Generic[T]):
    operation: Any  # what the bulk sends for this caller
    answer: asyncio.Future[T]


class _Group(Generic[T]):
    """The batching: who waits, when a bulk goes, and who is answered what."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        window: float = WINDOW_SECONDS,
        max_size: int = MAX_SIZE,
    ) -> None:
        self._collection = collection
        self._window = window
        self._max_size = max_size
        self._waiting: list[_Waiting[T]] = []
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        # The bulks being sent (a task with no reference may be collected).
        self._bulks: set[asyncio.Task[None]] = set()
        # Counted for tests and benchmarks: bulks sent, operations they carried.
        self.bulks_sent = 0
        self.operations_sent = 0

    async def drain(self) -> None:
        """Return once every write handed to this group has been sent and answered
        (even those whose caller gave up): what shutdown awaits before it closes
        the client, so no acknowledged-or-not write is cut off half way."""
        while self._waiting or self._bulks:
            if self._waiting and not self._in_flight:
                self._send()
            if self._bulks:
                await asyncio.wait(set(self._bulks))

    async def _submit(self, operation: Any) -> T:
        answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(operation, answer))
        if self._in_flight == 0 or len(self._waiting) >= self._max_size:
            self._send()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._send)
        # The bulk is its own task: a caller giving up (its answer cancelled) does
        # not stop the others' writes.
        return await answer

    def _send(self) -> None:
        """Start a bulk; it takes what is waiting when it starts (so writes made in
        the same turn of the event loop go together)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._waiting:
            return
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._bulk())
        self._bulks.add(task)
        task.add_done_callback(self._bulks.discard)

    async def _bulk(self) -> None:
        batch = self._waiting[: self._max_size]
        del self._waiting[: self._max_size]
        try:
            if batch:
                await self._execute_and_answer(batch)
        finally:
            self._in_flight -= 1
            if self._waiting and (self._in_flight == 0 or len(self._waiting) >= self._max_size):
                self._send()
            elif self._waiting and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self._window, self._send)

    async def _execute_and_answer(self, batch: list[_Waiting[T]]) -> None:
        self.bulks_sent += 1
        self.operations_sent += len(batch)
        try:
            outcomes = await self._execute([w.operation for w in batch])
        except Exception as exc:
            # The bulk failed as a whole: so did each write it carried.
            outcomes = [exc] * len(batch)
        except BaseException:
            # This task was cancelled (the loop is closing): so are the writes.
            for waiting in batch:
                waiting.answer.cancel()
            raise
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.answer.done():
                continue
            if isinstance(outcome, Exception):
                waiting.answer.set_exception(outcome)
            else:
                waiting.answer.set_result(outcome)

    async def _execute(self, operations: list[Any]) -> list[T | Exception]:
        """Send one bulk; each operation's outcome, in order."""
        raise NotImplementedError


class GroupInserts(_Group[None]):
    """Inserts into ``collection``, coalesced (see the module's docstring)."""

    async def insert_one(self, document: dict[str, Any]) -> None:
        """Insert ``document`` (it must carry its ``_id``); returns once it is
        acknowledged, raises what its own insert raised."""
        raw = bson.encode(document, codec_options=self._collection.codec_options)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(f"document of {len(raw)} bytes is too large to store")
        await self._submit(RawBSONDocument(raw))

    async def _execute(self, operations: list[Any]) -> list[Exception | None]:
        if len(operations) == 1:
            # Alone (low load): the driver's single-document path costs less.
            try:
                await self._collection.insert_one(operations[0])
            except WriteError as exc:
                return [exc]
            return [None]
        try:
            await self._collection.insert_many(operations, ordered=False)
        except BulkWriteError as exc:
            failed = _per_operation(exc, len(operations))
            return [failed.get(n) for n in range(len(operations))]
        return [None] * len(operations)


class GroupReads(_Group[dict[str, Any] | None]):
    """Reads of one document by ``_id`` from ``collection``, coalesced (see the
    module's docstring): concurrent ``find_one({"_id": x})`` go as one ``find``
    with ``$in``. Each caller gets its own copy of the document, or None."""

    async def find_one(self, document_id: str) -> dict[str, Any] | None:
        return await self._submit(document_id)

    async def _execute(self, operations: list[Any]) -> list[dict[str, Any] | Exception | None]:
        if len(operations) == 1:
            return [await self._collection.find_one({"_id": operations[0]})]
        wanted = list(dict.fromkeys(operations))
        found = await self._collection.find({"_id": {"$in": wanted}}).to_list()
        by_id = {doc["_id"]: doc for doc in found}
        # A document asked for twice is answered twice, each caller its own dict.
        return [dict(by_id[i]) if i in by_id else None for i in operations]


def _per_operation(exc: BulkWriteError, size: int) -> dict[int, Exception]:
    """Each operation's own error, as its ``insert_one`` would have raised it."""
    details = exc.details
    failed: dict[int, Exception] = {}
    for error in details.get("writeErrors") or []:
        kind = DuplicateKeyError if error.get("code") in DUPLICATE_KEY_CODES else WriteError
        failed[error["index"]] = kind(error.get("errmsg"), error.get("code"), error)
    concern = (details.get("writeConcernErrors") or [None])[-1]
    if concern is not None:
        # Written, but not as durably as asked: each write not refused is told so.
        for index in range(size):
            failed.setdefault(
                index, WriteConcernError(concern.get("errmsg"), concern.get("code"), concern)
            )
    return failed
