"""The feedback change stream: every change to a feedback record stored by any
process, read with a MongoDB change stream (a replica set; the embedded SecantusDB
advertises a single-node one).

:meth:`FeedbackChanges.watch` opens a watch; every change stored after it returns is
in it. A watch that breaks is reopened after the last change it delivered
(:attr:`FeedbackWatch.resume_token`), or from now when that is too old.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from app.store.feedback import Feedback

PIPELINE: list[dict[str, Any]] = [
    {"$match": {"operationType": {"$in": ["insert", "update", "replace"]}}},
    # A record may carry its change history inside it; events do not need it.
    {"$project": {"fullDocument.history": 0, "updateDescription.updatedFields.history": 0}},
]


class ChangeStreamsUnavailable(Exception):
    """The server has no change streams (a standalone mongod)."""


@dataclass(frozen=True)
class FeedbackChange:
    kind: str  # created | updated | retracted | deleted
    record: Feedback


def change_from_event(change: dict[str, Any]) -> FeedbackChange | None:
    """A change stream event as a FeedbackChange (None for what is not feedback)."""
    doc = change.get("fullDocument")
    if not doc or "project_id" not in doc or "created_at" not in doc:
        return None
    record = Feedback.from_doc(doc)
    operation = change.get("operationType")
    if operation == "insert":
        kind = "created"
    elif operation == "update":
        updated = (change.get("updateDescription") or {}).get("updatedFields") or {}
        if updated.get("deleted") is True:
            kind = "deleted"
        elif updated.get("retracted") is True:
            kind = "retracted"
        else:
            kind = "updated"
    else:  # a replace says nothing of what changed: judge by the record
        kind = "deleted" if record.deleted else "retracted" if record.retracted else "updated"
    return FeedbackChange(kind=kind, record=record)


class FeedbackWatch:
    """One open watch; read it once with :meth:`changes`, or :meth:`close` it."""

    def __init__(self, stream: AsyncChangeStream[dict[str, Any]]) -> None:
        self._stream = stream
        self.resume_token: Any = None

    async def close(self) -> None:
        await self._stream.close()

    async def changes(self) -> AsyncIterator[FeedbackChange]:
        """The changes as they are stored, until the watch breaks (a DatabaseError)."""
        async with self._stream:
            async for event in self._stream:
                self.resume_token = event.get("_id")
                change = change_from_event(event)
                if change is not None:
                    yield change


class FeedbackChanges:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["feedback"]

    async def watch(self, resume_after: Any = None) -> FeedbackWatch:
        """A watch from now, or from just after ``resume_after`` (a resume token)
        while the server still has it. ChangeStreamsUnavailable when the server has
        no change streams."""
        try:
            stream = await self.collection.watch(
                PIPELINE, full_document="updateLookup", resume_after=resume_after
            )
        except OperationFailure as exc:
            if resume_after is None:
                raise ChangeStreamsUnavailable(str(exc)) from exc
            return await self.watch(None)  # the token is too old: start from now
        return FeedbackWatch(stream)
