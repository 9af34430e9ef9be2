"""Feedback tasks (JSON-Schema rubrics) and every version of their schema.

Two collections: ``feedback_tasks`` holds the task with its current schema and
version number; ``feedback_task_versions`` keeps each schema a task has had, so a
submission validated against an old version can still be read with its schema.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.errors import Conflict
from app.store import jsonsafe
from app.store.pagination import Page
from app.store.records import ProjectRecords


@dataclass(frozen=True)
class FeedbackTask:
    id: str
    project_id: str
    name: str
    instructions: str | None
    run_tag_selector: list[str]
    reviews_required: int
    lease_seconds: int
    version: int
    schema: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> FeedbackTask:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            name=doc["name"],
            instructions=doc.get("instructions"),
            run_tag_selector=doc.get("run_tag_selector") or [],
            reviews_required=doc.get("reviews_required", 1),
            lease_seconds=doc.get("lease_seconds", 600),
            version=doc["version"],
            schema=jsonsafe.unescape(doc["schema"]),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )


@dataclass(frozen=True)
class FeedbackTaskVersion:
    task_id: str
    version: int
    schema: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> FeedbackTaskVersion:
        return cls(
            task_id=doc["task_id"],
            version=doc["version"],
            schema=jsonsafe.unescape(doc["schema"]),
            created_at=doc["created_at"],
        )


class FeedbackTaskStore(ProjectRecords[FeedbackTask]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["feedback_tasks"], FeedbackTask.from_doc)
        self.versions = db["feedback_task_versions"]

    async def create(
        self,
        project_id: str,
        *,
        name: str,
        instructions: str | None,
        run_tag_selector: list[str],
        reviews_required: int,
        lease_seconds: int,
        schema: dict[str, Any],
        at: datetime,
    ) -> FeedbackTask:
        doc = {
            "_id": str(uuid.uuid4()),
            "project_id": project_id,
            "name": name,
            "instructions": instructions,
            "run_tag_selector": run_tag_selector,
            "reviews_required": reviews_required,
            "lease_seconds": lease_seconds,
            "version": 1,
            "schema": jsonsafe.escape(schema),
            "created_at": at,
            "updated_at": at,
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict(f"a feedback task named {name!r} already exists") from None
        await self.versions.insert_one(
            {
                "_id": str(uuid.uuid4()),
                "project_id": project_id,
                "task_id": doc["_id"],
                "version": 1,
                "schema": doc["schema"],
                "created_at": at,
            }
        )
        return FeedbackTask.from_doc(doc)

    async def by_name(self, project_id: str, name: str) -> FeedbackTask | None:
        doc = await self.collection.find_one({"project_id": project_id, "name": name})
        return FeedbackTask.from_doc(doc) if doc else None

    async def page(
        self, project_id: str, first: int | None, after: str | None
    ) -> Page[FeedbackTask]:
        return await self._page({"project_id": project_id}, first, after)

    async def update(
        self,
        task: FeedbackTask,
        changes: dict[str, Any],
        new_schema: dict[str, Any] | None,
        at: datetime,
    ) -> FeedbackTask | None:
        """Change a task; with ``new_schema``, as the next version.

        The update only applies while the task is still at ``task.version``, so two
        concurrent schema changes cannot both become the same version: the second
        raises Conflict. Returns None when the task no longer exists."""
        update: dict[str, Any] = {"$set": {**changes, "updated_at": at}}
        if new_schema is not None:
            stored = jsonsafe.escape(new_schema)
            try:
                await self.versions.insert_one(
                    {
                        "_id": str(uuid.uuid4()),
                        "project_id": task.project_id,
                        "task_id": task.id,
                        "version": task.version + 1,
                        "schema": stored,
                        "created_at": at,
                    }
                )
            except DuplicateKeyError:
                raise Conflict(
                    "the task's schema was changed at the same time; read it again and retry"
                ) from None
            update["$set"]["schema"] = stored
            update["$set"]["version"] = task.version + 1
        doc = await self.collection.find_one_and_update(
            {"_id": task.id, "project_id": task.project_id, "version": task.version},
            update,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            if new_schema is not None:
                await self.versions.delete_one({"task_id": task.id, "version": task.version + 1})
            if await self.get(task.project_id, task.id) is None:
                return None
            raise Conflict("the task was changed at the same time; read it again and retry")
        return FeedbackTask.from_doc(doc)

    async def version(self, task_id: str, version: int) -> FeedbackTaskVersion | None:
        doc = await self.versions.find_one({"task_id": task_id, "version": version})
        return FeedbackTaskVersion.from_doc(doc) if doc else None

    async def all_versions(self, task_id: str) -> list[FeedbackTaskVersion]:
        docs = await self.versions.find({"task_id": task_id}, sort=[("version", 1)]).to_list()
        return [FeedbackTaskVersion.from_doc(d) for d in docs]
