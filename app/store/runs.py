from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cachetools import LRUCache
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from app.errors import Conflict
from app.store import jsonsafe
from app.store.pagination import Page
from app.store.ranges import time_range
from app.store.records import ProjectRecords

JSON_FIELDS = ("inputs", "outputs", "metadata")


@dataclass(frozen=True)
class Run:
    id: str
    project_id: str
    name: str | None
    inputs: Any
    outputs: Any
    tags: list[str]
    metadata: Any
    user_id: str | None
    session_id: str | None
    trace_id: str | None
    parent_run_id: str | None
    model: str | None
    start_time: datetime
    end_time: datetime | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Run:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            name=doc.get("name"),
            inputs=jsonsafe.unescape(doc.get("inputs")),
            outputs=jsonsafe.unescape(doc.get("outputs")),
            tags=doc.get("tags") or [],
            metadata=jsonsafe.unescape(doc.get("metadata")),
            user_id=doc.get("user_id"),
            session_id=doc.get("session_id"),
            trace_id=doc.get("trace_id"),
            parent_run_id=doc.get("parent_run_id"),
            model=doc.get("model"),
            start_time=doc["start_time"],
            end_time=doc.get("end_time"),
            latency_ms=doc.get("latency_ms"),
            prompt_tokens=doc.get("prompt_tokens"),
            completion_tokens=doc.get("completion_tokens"),
            total_tokens=doc.get("total_tokens"),
            error=doc.get("error"),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )


@dataclass
class RunQuery:
    """Filters for listing runs; every given filter must hold."""

    tags: list[str] = field(default_factory=list)
    name: str | None = None
    start_after: datetime | None = None
    start_before: datetime | None = None
    user_id: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    model: str | None = None
    ids: list[str] | None = None
    parent_run_id: str | None = None
    # True: only runs without a parent (trace roots); False: only runs with one.
    is_root: bool | None = None

    def to_mongo(self, project_id: str) -> dict[str, Any]:
        query: dict[str, Any] = {"project_id": project_id}
        if self.tags:
            query["tags"] = {"$all": list(self.tags)}
        for name in ("name", "user_id", "session_id", "trace_id", "model"):
            value = getattr(self, name)
            if value is not None:
                query[name] = value
        span = time_range(self.start_after, self.start_before)
        if span:
            query["start_time"] = span
        if self.ids is not None:
            query["_id"] = {"$in": list(self.ids)}
        if self.parent_run_id is not None:
            query["parent_run_id"] = self.parent_run_id
        if self.is_root is not None:
            query.setdefault("$and", []).append(
                {"parent_run_id": None} if self.is_root else {"parent_run_id": {"$ne": None}}
            )
        return query


class RunStore(ProjectRecords[Run]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["runs"], Run.from_doc, time_field="start_time")
        # A run id is global (the collection's _id) and a run is never deleted nor
        # moved, so "run R belongs to project P" stays true: remembered, it saves the
        # feedback hot path a read. Only what was found is remembered: a run not
        # there yet may arrive at any moment.
        self._owners: LRUCache[str, str] = LRUCache(maxsize=100_000)

    async def owner(self, run_id: str) -> str | None:
        """The project the run belongs to; None when no project has it (yet)."""
        known = self._owners.get(run_id)
        if known is not None:
            return known
        found = await self.collection.find_one({"_id": run_id}, {"project_id": 1})
        if found is None:
            return None
        self._owners[run_id] = found["project_id"]
        return str(found["project_id"])

    async def owners(self, run_ids: list[str]) -> dict[str, str]:
        """The project of each of these runs that some project has."""
        found = {i: self._owners[i] for i in run_ids if i in self._owners}
        missing = list({i for i in run_ids if i not in found})
        if missing:
            docs = await self.collection.find(
                {"_id": {"$in": missing}}, {"project_id": 1}
            ).to_list()
            for doc in docs:
                self._owners[doc["_id"]] = found[doc["_id"]] = doc["project_id"]
        return found

    async def upsert_many(
        self, project_id: str, runs: list[tuple[str, dict[str, Any], dict[str, Any]]]
    ) -> list[Run]:
        """Upsert ``(run id, fields to set, fields to set on insert only)``.

        Fields not given are left as stored, so a run can be created at its start and
        completed later."""
        ops = []
        for run_id, fields, on_insert in runs:
            stored = {k: jsonsafe.escape(v) if k in JSON_FIELDS else v for k, v in fields.items()}
            ops.append(
                UpdateOne(
                    {"_id": run_id, "project_id": project_id},
                    {"$set": stored, "$setOnInsert": on_insert},
                    upsert=True,
                )
            )
        if ops:
            try:
                await self.collection.bulk_write(ops, ordered=True)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if errors and errors[0].get("code") == 11000:
                    run_id = runs[errors[0]["index"]][0]
                    raise Conflict(f"run id {run_id} is already used by another project") from None
                raise
        written = await self.get_many(project_id, [r[0] for r in runs])
        for run in written:
            self._owners[run.id] = project_id
        return written

    async def get_many(self, project_id: str, run_ids: list[str]) -> list[Run]:
        docs = await self.collection.find(
            {"_id": {"$in": list(set(run_ids))}, "project_id": project_id}
        ).to_list()
        by_id = {d["_id"]: Run.from_doc(d) for d in docs}
        return [by_id[i] for i in run_ids if i in by_id]

    async def existing_ids(self, project_id: str, run_ids: list[str]) -> set[str]:
        docs = await self.collection.find(
            {"_id": {"$in": list(set(run_ids))}, "project_id": project_id}, {"_id": 1}
        ).to_list()
        return {d["_id"] for d in docs}

    async def page(
        self, project_id: str, query: RunQuery, first: int | None, after: str | None
    ) -> Page[Run]:
        return await self._page(query.to_mongo(project_id), first, after)

    async def same_input_groups(
        self, project_id: str, tags: list[str], skip: int, limit: int, per_group: int
    ) -> list[list[str]]:
        """Run ids grouped by identical (non-null) inputs, for pairwise review: the
        groups with two or more runs, ordered by their oldest run; in each, at most
        ``per_group`` run ids, oldest first. ``tags``: runs carrying all of them."""
        match: dict[str, Any] = {"project_id": project_id, "inputs": {"$ne": None}}
        if tags:
            match["tags"] = {"$all": list(tags)}
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {"$sort": {"start_time": 1, "_id": 1}},
            {
                "$group": {
                    "_id": "$inputs",
                    "runs": {"$push": "$_id"},
                    "first": {"$first": "$start_time"},
                    "lead": {"$first": "$_id"},
                }
            },
            {"$match": {"runs.1": {"$exists": True}}},
            {"$sort": {"first": 1, "lead": 1}},
            {"$skip": skip},
            {"$limit": limit},
            {"$project": {"_id": 0, "runs": {"$slice": ["$runs", per_group]}}},
        ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return [list(d["runs"]) for d in docs]
