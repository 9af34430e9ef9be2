from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store import jsonsafe


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    feedback_id: str
    project_id: str
    at: datetime
    change: str  # created | updated | retracted | deleted
    by: str  # who: "key:<api key id>", "token:<token id>", "cli"
    via: str  # graphql | widget | email | rest | cli
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> HistoryEntry:
        return cls(
            id=doc["_id"],
            feedback_id=doc["feedback_id"],
            project_id=doc["project_id"],
            at=doc["at"],
            change=doc["change"],
            by=doc["by"],
            via=doc["via"],
            old=jsonsafe.unescape(doc.get("old")),
            new=jsonsafe.unescape(doc.get("new")),
        )


class FeedbackHistoryStore:
    """An append-only log of every change to a feedback record."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["feedback_history"]

    async def append(
        self,
        *,
        feedback_id: str,
        project_id: str,
        at: datetime,
        change: str,
        by: str,
        via: str,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> None:
        await self.collection.insert_one(
            {
                "_id": str(uuid.uuid4()),
                "feedback_id": feedback_id,
                "project_id": project_id,
                "at": at,
                "change": change,
                "by": by,
                "via": via,
                "old": jsonsafe.escape(old),
                "new": jsonsafe.escape(new),
            }
        )

    async def for_feedback(self, project_id: str, feedback_id: str) -> list[HistoryEntry]:
        docs = await self.collection.find(
            {"project_id": project_id, "feedback_id": feedback_id}, sort=[("at", 1), ("_id", 1)]
        ).to_list()
        return [HistoryEntry.from_doc(d) for d in docs]
