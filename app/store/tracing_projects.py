"""Tracing projects: named groups of runs inside a Plaudit project (LangSmith's
"projects", which its API calls sessions). Runs carry ``tracing_project_id``."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.errors import Conflict
from app.store import jsonsafe
from app.store.pagination import Page, fetch_page
from app.store.queries import one_of


@dataclass(frozen=True)
class TracingProject:
    id: str
    project_id: str
    name: str
    description: str | None
    # LangSmith's ``extra``, metadata included, as sent.
    extra: Any
    start_time: datetime
    end_time: datetime | None
    created_at: datetime
    updated_at: datetime
    # An experiment: the dataset its runs were made from (app/store/datasets.py).
    reference_dataset_id: str | None = None
    # An experiment's summary evaluators' results, by key (app/domain/experiments.py).
    summary_scores: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> TracingProject:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            name=doc["name"],
            description=doc.get("description"),
            extra=jsonsafe.unescape(doc.get("extra")),
            start_time=doc["start_time"],
            end_time=doc.get("end_time"),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            reference_dataset_id=doc.get("reference_dataset_id"),
            summary_scores=jsonsafe.unescape(doc.get("summary_scores")) or {},
        )


def _to_doc(record: TracingProject) -> dict[str, Any]:
    return {
        "_id": record.id,
        "project_id": record.project_id,
        "name": record.name,
        "description": record.description,
        "extra": jsonsafe.escape(record.extra),
        "start_time": record.start_time,
        "end_time": record.end_time,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "reference_dataset_id": record.reference_dataset_id,
        "summary_scores": jsonsafe.escape(record.summary_scores),
    }


def _taken(name: str) -> Conflict:
    return Conflict(f"a tracing project named {name!r} already exists")


class TracingProjectStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["tracing_projects"]

    async def create(
        self,
        project_id: str,
        name: str,
        now: datetime,
        *,
        tracing_project_id: str | None = None,
        description: str | None = None,
        extra: Any = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        reference_dataset_id: str | None = None,
    ) -> TracingProject:
        """Raises Conflict when the name or the id is taken."""
        record = TracingProject(
            id=tracing_project_id or str(uuid.uuid4()),
            project_id=project_id,
            name=name,
            description=description,
            extra=extra,
            start_time=start_time or now,
            end_time=end_time,
            created_at=now,
            updated_at=now,
            reference_dataset_id=reference_dataset_id,
        )
        try:
            await self.collection.insert_one(_to_doc(record))
        except DuplicateKeyError:
            if await self.collection.find_one({"_id": record.id}, {"_id": 1}):
                raise Conflict(f"tracing project id {record.id} is taken") from None
            raise _taken(name) from None
        return record

    async def get(self, project_id: str, tracing_project_id: str) -> TracingProject | None:
        doc = await self.collection.find_one({"_id": tracing_project_id})
        if doc is None or doc["project_id"] != project_id:
            return None
        return TracingProject.from_doc(doc)

    async def owners(self, tracing_project_ids: list[str]) -> dict[str, TracingProject]:
        """These tracing projects, whichever Plaudit project they belong to."""
        docs = await self.collection.find(
            {"_id": {"$in": list(set(tracing_project_ids))}}
        ).to_list()
        return {d["_id"]: TracingProject.from_doc(d) for d in docs}

    async def get_many(
        self, project_id: str, tracing_project_ids: list[str]
    ) -> list[TracingProject]:
        found = await self.owners(tracing_project_ids)
        return [
            found[i]
            for i in dict.fromkeys(tracing_project_ids)
            if i in found and found[i].project_id == project_id
        ]

    async def by_names(self, project_id: str, names: list[str]) -> dict[str, TracingProject]:
        docs = await self.collection.find(
            {"project_id": project_id, "name": one_of(names)}
        ).to_list()
        return {d["name"]: TracingProject.from_doc(d) for d in docs}

    async def ensure_names(
        self, project_id: str, names: list[str], now: datetime
    ) -> dict[str, TracingProject]:
        """The tracing projects with these names, created when missing (safe to race:
        the name is unique within a project)."""
        found = await self.by_names(project_id, names) if names else {}
        for name in names:
            if name in found:
                continue
            try:
                found[name] = await self.create(project_id, name, now)
            except Conflict:
                again = await self.by_names(project_id, [name])
                if name not in again:
                    raise
                found[name] = again[name]
        return found

    async def update(
        self, project_id: str, tracing_project_id: str, changes: dict[str, Any]
    ) -> TracingProject | None:
        stored = {k: jsonsafe.escape(v) if k == "extra" else v for k, v in changes.items()}
        try:
            result = await self.collection.update_one(
                {"_id": tracing_project_id, "project_id": project_id}, {"$set": stored}
            )
        except DuplicateKeyError:
            raise _taken(str(changes.get("name"))) from None
        if result.matched_count == 0:
            return None
        return await self.get(project_id, tracing_project_id)

    async def delete(self, project_id: str, tracing_project_id: str) -> bool:
        result = await self.collection.delete_one(
            {"_id": tracing_project_id, "project_id": project_id}
        )
        return result.deleted_count == 1

    async def restore(self, record: TracingProject) -> None:
        """Put back a tracing project deleted a moment ago."""
        with contextlib.suppress(DuplicateKeyError):
            await self.collection.insert_one(_to_doc(record))

    async def page(
        self, project_id: str, first: int | None, after: str | None
    ) -> Page[TracingProject]:
        """Newest first, by keyset."""
        return await fetch_page(
            self.collection,
            {"project_id": project_id},
            first=first,
            after=after,
            time_field="created_at",
            build=TracingProject.from_doc,
        )

    async def set_summary_score(
        self, project_id: str, tracing_project_id: str, key: str, score: dict[str, Any]
    ) -> bool:
        """Keep one summary result per key (the latest)."""
        escaped = jsonsafe.escape({key: score})
        assert isinstance(escaped, dict)
        ((stored_key, stored),) = escaped.items()
        result = await self.collection.update_one(
            {"_id": tracing_project_id, "project_id": project_id},
            {"$set": {f"summary_scores.{stored_key}": stored}},
        )
        return result.matched_count == 1

    async def experiments(
        self, project_id: str, dataset_id: str, limit: int
    ) -> list[TracingProject]:
        """A dataset's experiments, newest first, at most ``limit``."""
        cursor = self.collection.find(
            {"project_id": project_id, "reference_dataset_id": dataset_id},
            sort=[("created_at", -1), ("_id", -1)],
        )
        docs = await cursor.limit(limit).to_list()
        return [TracingProject.from_doc(d) for d in docs]

    async def newest_first(self, project_id: str, limit: int) -> list[TracingProject]:
        """A Plaudit project's tracing projects, newest first, at most ``limit``."""
        cursor = self.collection.find(
            {"project_id": project_id}, sort=[("created_at", -1), ("_id", -1)]
        )
        docs = await cursor.limit(limit).to_list()
        return [TracingProject.from_doc(d) for d in docs]
