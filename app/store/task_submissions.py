"""Submissions to feedback tasks: one per (task, run, reviewer), with the schema
version the values were validated against, and where they came from: a person
(source type ``human``) or automatic feedback (``model``, with ``source_info``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.errors import Conflict
from app.store import jsonsafe
from app.store.pagination import Page
from app.store.queries import CHANGE_ATTEMPTS
from app.store.records import ProjectRecords


@dataclass(frozen=True)
class TaskSubmission:
    id: str
    project_id: str
    task_id: str
    task_version: int
    run_id: str
    reviewer: str
    user_id: str | None
    values: dict[str, Any]
    comment: str | None
    created_at: datetime
    modified_at: datetime
    source_type: str = "human"
    source_info: dict[str, Any] | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> TaskSubmission:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            task_id=doc["task_id"],
            task_version=doc["task_version"],
            run_id=doc["run_id"],
            reviewer=doc["reviewer"],
            user_id=doc.get("user_id"),
            values=jsonsafe.unescape(doc.get("values")) or {},
            comment=doc.get("comment"),
            created_at=doc["created_at"],
            modified_at=doc.get("modified_at", doc["created_at"]),
            source_type=doc.get("source_type", "human"),
            source_info=jsonsafe.unescape(doc.get("source_info")),
        )


class TaskSubmissionStore(ProjectRecords[TaskSubmission]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["task_submissions"], TaskSubmission.from_doc)

    async def upsert(
        self,
        *,
        project_id: str,
        task_id: str,
        run_id: str,
        reviewer: str,
        user_id: str | None,
        task_version: int,
        values: dict[str, Any],
        comment: str | None,
        at: datetime,
        source_type: str = "human",
        source_info: dict[str, Any] | None = None,
    ) -> tuple[TaskSubmission | None, TaskSubmission]:
        """Record a reviewer's submission, replacing their earlier one on this run.

        Returns (the submission before, the submission after)."""
        # The unique key (a task id names its project; checked below).
        natural = {"task_id": task_id, "run_id": run_id, "reviewer": reviewer}
        fields = {
            "user_id": user_id,
            "task_version": task_version,
            "values": jsonsafe.escape(values),
            "comment": comment,
            "modified_at": at,
            "source_type": source_type,
            "source_info": jsonsafe.escape(source_info),
        }
        # A read, then an insert or an update conditional on the revision read (not
        # findAndModify, which the embedded store runs as a scan of every
        # submission): a submission racing another is recomputed.
        for _ in range(CHANGE_ATTEMPTS):
            before = await self.collection.find_one(natural)
            if before is not None and before["project_id"] != project_id:
                raise Conflict("this task belongs to another project")
            if before is None:
                created = {
                    "_id": str(uuid.uuid4()),
                    "project_id": project_id,
                    **natural,
                    **fields,
                    "created_at": at,
                    "rev": 0,
                }
                try:
                    await self.collection.insert_one(created)
                except DuplicateKeyError:
                    continue  # another first submission landed: change it instead
                return None, TaskSubmission.from_doc(created)
            changed = await self.collection.update_one(
                {"_id": before["_id"], "rev": before.get("rev")},
                {"$set": fields, "$inc": {"rev": 1}},
            )
            if changed.matched_count == 1:
                after = {**before, **fields}
                return TaskSubmission.from_doc(before), TaskSubmission.from_doc(after)
        raise Conflict("this submission is being changed by many requests at once; retry")

    async def page(
        self,
        project_id: str,
        task_id: str,
        run_id: str | None,
        first: int | None,
        after: str | None,
    ) -> Page[TaskSubmission]:
        query: dict[str, Any] = {"project_id": project_id, "task_id": task_id}
        if run_id is not None:
            query["run_id"] = run_id
        return await self._page(query, first, after)

    async def count_by_reviewer(
        self, project_id: str, task_id: str, reviewer: str, since: datetime
    ) -> int:
        """A reviewer's first submissions on runs of this task since ``since``."""
        return await self.collection.count_documents(
            {
                "project_id": project_id,
                "task_id": task_id,
                "reviewer": reviewer,
                "created_at": {"$gte": since},
            }
        )

    async def grouped_by_run(
        self, project_id: str, task_id: str, batch_size: int = 500
    ) -> AsyncIterator[list[TaskSubmission]]:
        """Every run's submissions, one run at a time, holding one run in memory."""
        cursor = self.collection.find(
            {"project_id": project_id, "task_id": task_id},
            sort=[("run_id", 1), ("created_at", 1)],
            batch_size=batch_size,
        )
        group: list[TaskSubmission] = []
        async for doc in cursor:
            submission = TaskSubmission.from_doc(doc)
            if group and group[0].run_id != submission.run_id:
                yield group
                group = []
            group.append(submission)
        if group:
            yield group
