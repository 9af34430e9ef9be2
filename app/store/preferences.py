"""Comparative feedback: on one key, this run was preferred to that one (or tied)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.store.pagination import Page
from app.store.ranges import time_range
from app.store.records import ProjectRecords


@dataclass(frozen=True)
class Preference:
    id: str
    project_id: str
    key: str
    preferred_run_id: str
    other_run_id: str
    tied: str | None  # None (a preference), "good" (both good) or "bad" (both bad)
    user_id: str | None
    comment: str | None
    by: str
    via: str
    created_at: datetime
    # The runs' experiments (tracing projects), when they have one, and the
    # comparative experiment a pairwise evaluator's scores came from.
    preferred_experiment_id: str | None = None
    other_experiment_id: str | None = None
    comparative_experiment_id: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Preference:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            key=doc["key"],
            preferred_run_id=doc["preferred_run_id"],
            other_run_id=doc["other_run_id"],
            tied=doc.get("tied"),
            user_id=doc.get("user_id"),
            comment=doc.get("comment"),
            by=doc.get("by", ""),
            via=doc.get("via", ""),
            created_at=doc["created_at"],
            preferred_experiment_id=doc.get("preferred_experiment_id"),
            other_experiment_id=doc.get("other_experiment_id"),
            comparative_experiment_id=doc.get("comparative_experiment_id"),
        )


@dataclass
class PreferenceQuery:
    keys: list[str] | None = None
    run_id: str | None = None  # on either side
    user_ids: list[str] | None = None
    tied: bool | None = None  # True: only ties; False: only real preferences
    created_after: datetime | None = None
    created_before: datetime | None = None
    comparative_experiment_id: str | None = None

    def to_mongo(self, project_id: str) -> dict[str, Any]:
        query: dict[str, Any] = {"project_id": project_id}
        if self.keys is not None:
            query["key"] = {"$in": list(self.keys)}
        if self.user_ids is not None:
            query["user_id"] = {"$in": list(self.user_ids)}
        if self.run_id is not None:
            query["$or"] = [
                {"preferred_run_id": self.run_id},
                {"other_run_id": self.run_id},
            ]
        if self.tied is True:
            query["tied"] = {"$ne": None}
        elif self.tied is False:
            query["tied"] = None
        if self.comparative_experiment_id is not None:
            query["comparative_experiment_id"] = self.comparative_experiment_id
        span = time_range(self.created_after, self.created_before)
        if span:
            query["created_at"] = span
        return query


class PreferenceStore(ProjectRecords[Preference]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["preferences"], Preference.from_doc)

    async def insert(self, doc: dict[str, Any]) -> Preference:
        await self.collection.insert_one(doc)
        return Preference.from_doc(doc)

    async def insert_once(self, doc: dict[str, Any]) -> bool:
        """Insert unless a preference with this ``_id`` exists; whether it was new."""
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def between_experiments(
        self, project_id: str, experiment_ids: list[str], keys: list[str] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` preferences whose two runs are in two of these experiments:
        their key, the preferred run's and the other's experiment, and the tie."""
        query: dict[str, Any] = {
            "project_id": project_id,
            "preferred_experiment_id": {"$in": experiment_ids},
            "other_experiment_id": {"$in": experiment_ids},
        }
        if keys is not None:
            query["key"] = {"$in": keys}
        fields = {"key": 1, "preferred_experiment_id": 1, "other_experiment_id": 1, "tied": 1}
        return await self.collection.find(query, fields).limit(limit).to_list()

    async def page(
        self, project_id: str, query: PreferenceQuery, first: int | None, after: str | None
    ) -> Page[Preference]:
        return await self._page(query.to_mongo(project_id), first, after)

    async def compared_pairs(
        self, project_id: str, key: str, user_id: str, run_ids: list[str]
    ) -> set[frozenset[str]]:
        """The pairs among ``run_ids`` this user has compared on ``key`` (either
        way round, tied or not)."""
        docs = await self.collection.find(
            {
                "project_id": project_id,
                "key": key,
                "user_id": user_id,
                "preferred_run_id": {"$in": list(set(run_ids))},
            },
            {"preferred_run_id": 1, "other_run_id": 1},
        ).to_list()
        return {frozenset((d["preferred_run_id"], d["other_run_id"])) for d in docs}
