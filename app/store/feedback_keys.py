from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import TTLCache
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app import clock


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
    # Whether feedback the config does not allow is refused (keys registered
    # before this existed were all enforced).
    enforced: bool = True
    archived: bool = False

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
            enforced=doc.get("enforced", True),
            archived=doc.get("archived", False),
        )


class FeedbackKeyStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], cache_seconds: float = 5.0) -> None:
        self.collection = db["feedback_keys"]
        # Key configs are read on every feedback write and change rarely. A change
        # made in this process is seen at once, in other processes within the TTL.
        self._cache: TTLCache[tuple[str, str], FeedbackKey | None] = TTLCache(
            maxsize=10_000, ttl=cache_seconds
        )

    async def get_cached(self, project_id: str, key: str) -> FeedbackKey | None:
        try:
            return self._cache[(project_id, key)]
        except KeyError:
            found = await self.get(project_id, key)
            self._cache[(project_id, key)] = found
            return found

    async def register(self, project_id: str, key: str, config: dict[str, Any]) -> FeedbackKey:
        now = clock.now()
        doc = await self.collection.find_one_and_update(
            {"project_id": project_id, "key": key},
            {
                "$set": {**config, "updated_at": now},
                "$setOnInsert": {"_id": str(uuid.uuid4()), "created_at": now},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        self._cache.pop((project_id, key), None)
        assert doc is not None  # upsert with AFTER always returns the document
        return FeedbackKey.from_doc(doc)

    async def register_if_absent(
        self, project_id: str, key: str, config: dict[str, Any]
    ) -> FeedbackKey:
        """The key's config, inserting ``config`` only when it has none."""
        now = clock.now()
        try:
            doc = await self.collection.find_one_and_update(
                {"project_id": project_id, "key": key},
                {
                    "$setOnInsert": {
                        **config,
                        "_id": str(uuid.uuid4()),
                        "created_at": now,
                        "updated_at": now,
                    }
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # another request inserted it first
            doc = await self.collection.find_one({"project_id": project_id, "key": key})
        self._cache.pop((project_id, key), None)
        assert doc is not None
        return FeedbackKey.from_doc(doc)

    async def get(self, project_id: str, key: str) -> FeedbackKey | None:
        doc = await self.collection.find_one({"project_id": project_id, "key": key})
        return FeedbackKey.from_doc(doc) if doc else None

    async def by_id(self, project_id: str, key_id: str) -> FeedbackKey | None:
        doc = await self.collection.find_one({"_id": key_id, "project_id": project_id})
        return FeedbackKey.from_doc(doc) if doc else None

    async def page(self, project_id: str, offset: int, limit: int) -> tuple[list[FeedbackKey], int]:
        """One page of the project's keys, oldest first, and how many there are."""
        query = {"project_id": project_id}
        docs = await self.collection.find(
            query, sort=[("created_at", 1), ("_id", 1)], skip=offset, limit=limit
        ).to_list()
        total = await self.collection.count_documents(query)
        return [FeedbackKey.from_doc(d) for d in docs], total

    async def get_many(self, project_id: str, keys: list[str]) -> dict[str, FeedbackKey]:
        docs = await self.collection.find(
            {"project_id": project_id, "key": {"$in": list(set(keys))}}
        ).to_list()
        return {d["key"]: FeedbackKey.from_doc(d) for d in docs}

    async def list(self, project_id: str) -> list[FeedbackKey]:
        docs = await self.collection.find({"project_id": project_id}, sort=[("key", 1)]).to_list()
        return [FeedbackKey.from_doc(d) for d in docs]

    async def delete(self, project_id: str, key: str) -> bool:
        self._cache.pop((project_id, key), None)
        result = await self.collection.delete_one({"project_id": project_id, "key": key})
        return result.deleted_count == 1
