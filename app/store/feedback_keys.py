from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase


@dataclass(frozen=True)
class Category:
    value: float
    label: str


@dataclass(frozen=True)
class FeedbackKey:
    id: str
    project_id: str
    key: str
    kind: str  # continuous | categorical | boolean | freeform
    min: float | None
    max: float | None
    categories: list[Category]
    higher_is_better: bool
    description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> FeedbackKey:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            key=doc["key"],
            kind=doc["kind"],
            min=doc.get("min"),
            max=doc.get("max"),
            categories=[Category(c["value"], c["label"]) for c in doc.get("categories") or []],
            higher_is_better=doc.get("higher_is_better", True),
            description=doc.get("description"),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )


class FeedbackKeyStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["feedback_keys"]

    async def register(self, project_id: str, key: str, config: dict[str, Any]) -> FeedbackKey:
        now = datetime.now(UTC)
        doc = await self.collection.find_one_and_update(
            {"project_id": project_id, "key": key},
            {
                "$set": {**config, "updated_at": now},
                "$setOnInsert": {"_id": str(uuid.uuid4()), "created_at": now},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upsert with AFTER always returns the document
        return FeedbackKey.from_doc(doc)

    async def get(self, project_id: str, key: str) -> FeedbackKey | None:
        doc = await self.collection.find_one({"project_id": project_id, "key": key})
        return FeedbackKey.from_doc(doc) if doc else None

    async def get_many(self, project_id: str, keys: list[str]) -> dict[str, FeedbackKey]:
        docs = await self.collection.find(
            {"project_id": project_id, "key": {"$in": list(set(keys))}}
        ).to_list()
        return {d["key"]: FeedbackKey.from_doc(d) for d in docs}

    async def list(self, project_id: str) -> list[FeedbackKey]:
        docs = await self.collection.find({"project_id": project_id}, sort=[("key", 1)]).to_list()
        return [FeedbackKey.from_doc(d) for d in docs]

    async def delete(self, project_id: str, key: str) -> bool:
        result = await self.collection.delete_one({"project_id": project_id, "key": key})
        return result.deleted_count == 1
