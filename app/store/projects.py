from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import TTLCache
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app import clock
from app.errors import Conflict


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    strict_feedback_keys: bool
    allowed_origins: list[str]
    created_at: datetime
    # Days runs, feedback, signals, preferences and task submissions are kept
    # (app/domain/lifecycle/retention.py); None: forever.
    retention_days: int | None = None
    # Langfuse's browser scores (a public key only, no secret) are taken from the
    # allowed origins (app/compat/langfuse/browser.py); off unless turned on.
    langfuse_public_scores: bool = False

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Project:
        return cls(
            id=doc["_id"],
            name=doc["name"],
            strict_feedback_keys=doc.get("strict_feedback_keys", False),
            allowed_origins=doc.get("allowed_origins", []),
            created_at=doc["created_at"],
            retention_days=doc.get("retention_days"),
            langfuse_public_scores=doc.get("langfuse_public_scores", False),
        )


class ProjectStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], cache_seconds: float = 5.0) -> None:
        self.collection = db["projects"]
        # Settings read on hot paths (strictness, allowed origins); a change made in
        # this process is seen at once, in other processes within the TTL.
        self._cache: TTLCache[str, Project | None] = TTLCache(maxsize=10_000, ttl=cache_seconds)

    async def get_cached(self, project_id: str) -> Project | None:
        try:
            return self._cache[project_id]
        except KeyError:
            found = await self.get(project_id)
            self._cache[project_id] = found
            return found

    async def create(self, name: str, *, session: Any = None) -> Project:
        doc = {
            "_id": str(uuid.uuid4()),
            "name": name,
            "strict_feedback_keys": False,
            "allowed_origins": [],
            "created_at": clock.now(),
        }
        try:
            await self.collection.insert_one(doc, session=session)
        except DuplicateKeyError:
            raise Conflict(f"a project named {name!r} already exists") from None
        return Project.from_doc(doc)

    async def get(self, project_id: str, *, session: Any = None) -> Project | None:
        doc = await self.collection.find_one({"_id": project_id}, session=session)
        return Project.from_doc(doc) if doc else None

    async def by_name(self, name: str, *, session: Any = None) -> Project | None:
        doc = await self.collection.find_one({"name": name}, session=session)
        return Project.from_doc(doc) if doc else None

    async def list(self, *, session: Any = None) -> list[Project]:
        docs = await self.collection.find({}, sort=[("name", 1)], session=session).to_list()
        return [Project.from_doc(d) for d in docs]

    async def update(
        self, project_id: str, changes: dict[str, Any], *, session: Any = None
    ) -> Project | None:
        doc = await self.collection.find_one_and_update(
            {"_id": project_id}, {"$set": changes}, return_document=True, session=session
        )
        self._cache.pop(project_id, None)
        return Project.from_doc(doc) if doc else None

    def forget(self, project_id: str) -> None:
        """Drop the cached settings (the project was written around this store)."""
        self._cache.pop(project_id, None)

    async def with_retention(self) -> builtins.list[Project]:
        """The projects that have a retention period."""
        docs = await self.collection.find({"retention_days": {"$gt": 0}}).to_list()
        return [Project.from_doc(d) for d in docs]

    async def origin_is_listed(self, origin: str) -> bool:
        """Whether some project lists this origin (for CORS preflight)."""
        doc = await self.collection.find_one({"allowed_origins": origin}, {"_id": 1})
        return doc is not None
