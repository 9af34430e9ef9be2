"""Group commit: concurrent inserts into one collection sent as one bulk command.

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
can spoil a bulk."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class _Waiting:
    document: RawBSONDocument
    answer: asyncio.Future[None]


class GroupInserts:
    """Inserts into ``collection``, coalesced (see the module's docstring)."""

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
        self._waiting: list[_Waiting] = []
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        # The bulks being sent (a task with no reference may be collected).
        self._bulks: set[asyncio.Task[None]] = set()
        # Counted for tests and benchmarks: bulks sent, documents they carried.
        self.bulks_sent = 0
        self.documents_sent = 0

    async def insert_one(self, document: dict[str, Any]) -> None:
        """Insert ``document`` (it must carry its ``_id``); returns once it is
        acknowledged, raises what its own insert raised."""
        raw = bson.encode(document, codec_options=self._collection.codec_options)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(f"document of {len(raw)} bytes is too large to store")
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(RawBSONDocument(raw), answer))
        if self._in_flight == 0 or len(self._waiting) >= self._max_size:
            self._send()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._send)
        # The bulk is its own task: a caller giving up (its answer cancelled) does
        # not stop the others' inserts.
        await answer

    def _send(self) -> None:
        """Start a bulk; it takes what is waiting when it starts (so inserts made in
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
                await self._insert(batch)
        finally:
            self._in_flight -= 1
            if self._waiting and (self._in_flight == 0 or len(self._waiting) >= self._max_size):
                self._send()
            elif self._waiting and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self._window, self._send)

    async def _insert(self, batch: list[_Waiting]) -> None:
        self.bulks_sent += 1
        self.documents_sent += len(batch)
        failed: dict[int, Exception] = {}
        try:
            await self._collection.insert_many([w.document for w in batch], ordered=False)
        except BulkWriteError as exc:
            failed = _per_document(exc, len(batch))
        except Exception as exc:
            # The bulk failed as a whole: so did each insert it carried.
            failed = dict.fromkeys(range(len(batch)), exc)
        except BaseException:
            # This task was cancelled (the loop is closing): so are the inserts.
            for waiting in batch:
                waiting.answer.cancel()
            raise
        _answer(batch, failed)


def _per_document(exc: BulkWriteError, size: int) -> dict[int, Exception]:
    """Each document's own error, as ``insert_one`` would have raised it."""
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


def _answer(batch: list[_Waiting], failed: dict[int, Exception]) -> None:
    for index, waiting in enumerate(batch):
        if waiting.answer.done():
            continue
        error = failed.get(index)
        if error is None:
            waiting.answer.set_result(None)
        else:
            waiting.answer.set_exception(error)
