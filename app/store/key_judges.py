"""Instructions for the model judge of a feedback key: what the score means and how
to give it. One per (project, key)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


@dataclass(frozen=True)
class KeyJudge:
    project_id: str
    key: str
    instructions: str
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> KeyJudge:
        return cls(
            project_id=doc["project_id"],
            key=doc["key"],
            instructions=doc["instructions"],
            updated_at=doc["updated_at"],
        )


class KeyJudgeStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["key_judges"]

    async def put(self, project_id: str, key: str, instructions: str, at: datetime) -> KeyJudge:
        for attempt in range(2):
            try:
                doc = await self.collection.find_one_and_update(
                    {"project_id": project_id, "key": key},
                    {
                        "$set": {"instructions": instructions, "updated_at": at},
                        "$setOnInsert": {"_id": str(uuid.uuid4())},
                    },
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                if doc is None:
                    # The embedded server can answer a racing first upsert with no
                    # document (SecantusDB 0.7): read what is stored.
                    doc = await self.collection.find_one({"project_id": project_id, "key": key})
                if doc is not None:
                    return KeyJudge.from_doc(doc)
            except DuplicateKeyError:
                # Two first writes raced on the unique key; the loser updates.
                if attempt:
                    raise
        raise RuntimeError(f"the judge of {key!r} could not be stored")

    async def get(self, project_id: str, key: str) -> KeyJudge | None:
        doc = await self.collection.find_one({"project_id": project_id, "key": key})
        return KeyJudge.from_doc(doc) if doc else None
