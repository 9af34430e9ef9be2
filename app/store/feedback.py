from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from app.store import jsonsafe
from app.store.pagination import Page, fetch_page

JSON_FIELDS = ("value", "correction", "source_info")
# Fields a change to a feedback record can touch (and history records).
CONTENT_FIELDS = ("score", "value", "comment", "correction", "retracted")


@dataclass(frozen=True)
class Feedback:
    id: str
    project_id: str
    run_id: str
    key: str
    score: float | bool | None
    value: Any
    comment: str | None
    correction: Any
    source_type: str
    source_info: Any
    source_run_id: str | None
    user_id: str | None
    actor: str | None
    retracted: bool
    deleted: bool
    created_at: datetime
    modified_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Feedback:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            run_id=doc["run_id"],
            key=doc["key"],
            score=doc.get("score"),
            value=jsonsafe.unescape(doc.get("value")),
            comment=doc.get("comment"),
            correction=jsonsafe.unescape(doc.get("correction")),
            source_type=doc.get("source_type", "api"),
            source_info=jsonsafe.unescape(doc.get("source_info")),
            source_run_id=doc.get("source_run_id"),
            user_id=doc.get("user_id"),
            actor=doc.get("actor"),
            retracted=doc.get("retracted", False),
            deleted=doc.get("deleted", False),
            created_at=doc["created_at"],
            modified_at=doc.get("modified_at", doc["created_at"]),
            extra=doc.get("extra") or {},
        )

    def content(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


@dataclass(frozen=True)
class KeyStatsRow:
    run_id: str
    key: str
    count: int
    scored: int
    mean: float | None
    min: float | None
    max: float | None


@dataclass
class FeedbackQuery:
    run_ids: list[str] | None = None
    keys: list[str] | None = None
    source_types: list[str] | None = None
    user_ids: list[str] | None = None
    has_score: bool | None = None
    has_comment: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_retracted: bool = True

    def to_mongo(self, project_id: str) -> dict[str, Any]:
        query: dict[str, Any] = {"project_id": project_id, "deleted": False}
        for name, stored in (
            ("run_ids", "run_id"),
            ("keys", "key"),
            ("source_types", "source_type"),
            ("user_ids", "user_id"),
        ):
            values = getattr(self, name)
            if values is not None:
                query[stored] = {"$in": list(values)}
        if self.has_score is True:
            query["score"] = {"$ne": None}
        elif self.has_score is False:
            query["score"] = None
        if self.has_comment is True:
            query["comment"] = {"$nin": [None, ""]}
        elif self.has_comment is False:
            query["comment"] = {"$in": [None, ""]}
        span: dict[str, Any] = {}
        if self.created_after is not None:
            span["$gte"] = self.created_after
        if self.created_before is not None:
            span["$lt"] = self.created_before
        if span:
            query["created_at"] = span
        if not self.include_retracted:
            query["retracted"] = False
        return query


def to_stored(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonsafe.escape(v) if k in JSON_FIELDS else v for k, v in fields.items()}


class FeedbackStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["feedback"]

    async def get(
        self, project_id: str, feedback_id: str, *, include_deleted: bool = False
    ) -> Feedback | None:
        query: dict[str, Any] = {"_id": feedback_id, "project_id": project_id}
        if not include_deleted:
            query["deleted"] = False
        doc = await self.collection.find_one(query)
        return Feedback.from_doc(doc) if doc else None

    async def get_any_project(self, feedback_id: str) -> Feedback | None:
        doc = await self.collection.find_one({"_id": feedback_id})
        return Feedback.from_doc(doc) if doc else None

    async def by_natural(self, natural: dict[str, Any]) -> Feedback | None:
        doc = await self.collection.find_one({**natural, "deleted": False})
        return Feedback.from_doc(doc) if doc else None

    async def insert(self, doc: dict[str, Any]) -> Feedback:
        stored = to_stored(doc)
        await self.collection.insert_one(stored)
        return Feedback.from_doc(stored)

    async def upsert_natural(
        self,
        natural: dict[str, Any],
        changes: dict[str, Any],
        on_insert: dict[str, Any],
    ) -> tuple[Feedback | None, Feedback]:
        """Update the live record with this natural key, or create it.

        Returns (the record before, the record after); before is None on insert."""
        before = await self.collection.find_one_and_update(
            {**natural, "deleted": False},
            {"$set": to_stored(changes), "$setOnInsert": to_stored(on_insert)},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        after = await self.collection.find_one({**natural, "deleted": False})
        assert after is not None
        return (Feedback.from_doc(before) if before else None), Feedback.from_doc(after)

    async def update(
        self, project_id: str, feedback_id: str, changes: dict[str, Any]
    ) -> tuple[Feedback, Feedback] | None:
        before = await self.collection.find_one_and_update(
            {"_id": feedback_id, "project_id": project_id, "deleted": False},
            {"$set": to_stored(changes)},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            return None
        after = {**before, **to_stored(changes)}
        return Feedback.from_doc(before), Feedback.from_doc(after)

    async def mark_deleted(
        self, project_id: str, feedback_id: str, at: datetime
    ) -> Feedback | None:
        """Delete, leaving a tombstone so a retried create with the same id cannot
        bring the record back."""
        before = await self.collection.find_one_and_update(
            {"_id": feedback_id, "project_id": project_id, "deleted": False},
            {"$set": {"deleted": True, "modified_at": at}},
            return_document=ReturnDocument.BEFORE,
        )
        return Feedback.from_doc(before) if before else None

    async def page(
        self, project_id: str, query: FeedbackQuery, first: int | None, after: str | None
    ) -> Page[Feedback]:
        return await fetch_page(
            self.collection,
            query.to_mongo(project_id),
            first=first,
            after=after,
            time_field="created_at",
            build=Feedback.from_doc,
        )

    async def for_runs(self, project_id: str, run_ids: list[str]) -> list[Feedback]:
        docs = await self.collection.find(
            {"project_id": project_id, "run_id": {"$in": run_ids}, "deleted": False},
            sort=[("created_at", 1)],
        ).to_list()
        return [Feedback.from_doc(d) for d in docs]

    async def stats_for_runs(self, project_id: str, run_ids: list[str]) -> list[KeyStatsRow]:
        """Per (run, key): count, mean, min, max of numeric and boolean scores."""
        pipeline: list[dict[str, Any]] = [
            {
                "$match": {
                    "project_id": project_id,
                    "run_id": {"$in": run_ids},
                    "deleted": False,
                    "retracted": False,
                }
            },
            {
                "$group": {
                    "_id": {"run_id": "$run_id", "key": "$key"},
                    "count": {"$sum": 1},
                    "scored": {"$sum": {"$cond": [{"$eq": ["$score", None]}, 0, 1]}},
                    "mean": {"$avg": {"$toDouble": "$score"}},
                    "min": {"$min": {"$toDouble": "$score"}},
                    "max": {"$max": {"$toDouble": "$score"}},
                }
            },
            {"$sort": {"_id.key": 1}},
        ]
        rows = await (await self.collection.aggregate(pipeline)).to_list()
        return [
            KeyStatsRow(
                run_id=row["_id"]["run_id"],
                key=row["_id"]["key"],
                count=row["count"],
                scored=row["scored"],
                mean=row["mean"],
                min=row["min"],
                max=row["max"],
            )
            for row in rows
        ]

    async def run_ids_matching(
        self,
        project_id: str,
        key: str,
        min_score: float | None,
        max_score: float | None,
        limit: int,
    ) -> list[str]:
        query: dict[str, Any] = {
            "project_id": project_id,
            "key": key,
            "deleted": False,
            "retracted": False,
        }
        span: dict[str, Any] = {}
        if min_score is not None:
            span["$gte"] = min_score
        if max_score is not None:
            span["$lte"] = max_score
        if span:
            query["score"] = span
        pipeline: list[dict[str, Any]] = [
            {"$match": query},
            {"$group": {"_id": "$run_id"}},
            {"$limit": limit},
        ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return [d["_id"] for d in docs]

    async def list_offset(
        self, project_id: str, query: FeedbackQuery, *, offset: int, limit: int
    ) -> list[Feedback]:
        """Newest first, paged by offset (for APIs that page that way: LangSmith's)."""
        cursor = self.collection.find(
            query.to_mongo(project_id), sort=[("created_at", -1), ("_id", -1)]
        )
        docs = await cursor.skip(offset).limit(limit).to_list()
        return [Feedback.from_doc(d) for d in docs]
