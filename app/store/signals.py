"""Implicit signals: what a user did with a run's output (regenerate, edit, copy...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store import jsonsafe
from app.store.pagination import Page
from app.store.ranges import time_range
from app.store.records import ProjectRecords

JSON_FIELDS = ("edited_output", "draft_output")


@dataclass(frozen=True)
class Signal:
    id: str
    project_id: str
    run_id: str
    kind: str
    # For an edit: the run's output when the user edited it (the draft) and the text
    # they ended with (the final). Together they are a (draft, final) pair.
    draft_output: Any
    edited_output: Any
    user_id: str | None
    by: str
    via: str
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Signal:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            run_id=doc["run_id"],
            kind=doc["kind"],
            draft_output=jsonsafe.unescape(doc.get("draft_output")),
            edited_output=jsonsafe.unescape(doc.get("edited_output")),
            user_id=doc.get("user_id"),
            by=doc.get("by", ""),
            via=doc.get("via", ""),
            created_at=doc["created_at"],
        )


@dataclass
class SignalQuery:
    run_ids: list[str] | None = None
    kinds: list[str] | None = None
    user_ids: list[str] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def to_mongo(self, project_id: str) -> dict[str, Any]:
        query: dict[str, Any] = {"project_id": project_id}
        for name, stored in (("run_ids", "run_id"), ("kinds", "kind"), ("user_ids", "user_id")):
            values = getattr(self, name)
            if values is not None:
                query[stored] = {"$in": list(values)}
        span = time_range(self.created_after, self.created_before)
        if span:
            query["created_at"] = span
        return query


class SignalStore(ProjectRecords[Signal]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["signals"], Signal.from_doc)

    async def insert(self, doc: dict[str, Any]) -> Signal:
        stored = {k: jsonsafe.escape(v) if k in JSON_FIELDS else v for k, v in doc.items()}
        await self.collection.insert_one(stored)
        return Signal.from_doc(stored)

    async def page(
        self, project_id: str, query: SignalQuery, first: int | None, after: str | None
    ) -> Page[Signal]:
        return await self._page(query.to_mongo(project_id), first, after)
