"""Reviewer links: the server-side record behind each signed link.

A reviewer link lets one person review one feedback task without an API key. The
record's ``_id`` is the link's ``jti``: a handle shown to admins, never a
credential. Expiry and revocation live here; a TTL index on ``expires_at`` removes
records once they have expired (expiry is still checked on every request: the TTL
monitor runs only once a minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store.pagination import Page
from app.store.records import ProjectRecords


@dataclass(frozen=True)
class ReviewerLink:
    id: str  # the jti
    project_id: str
    task_id: str
    reviewer: str | None  # the reviewer's name, if the admin gave one
    expires_at: datetime
    revoked_at: datetime | None
    created_by: str
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ReviewerLink:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            task_id=doc["task_id"],
            reviewer=doc.get("reviewer"),
            expires_at=doc["expires_at"],
            revoked_at=doc.get("revoked_at"),
            created_by=doc.get("created_by", ""),
            created_at=doc["created_at"],
        )


class ReviewerLinkStore(ProjectRecords[ReviewerLink]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["reviewer_links"], ReviewerLink.from_doc)

    async def insert(self, doc: dict[str, Any]) -> ReviewerLink:
        await self.collection.insert_one(doc)
        return ReviewerLink.from_doc(doc)

    async def by_id(self, link_id: str) -> ReviewerLink | None:
        """The record a signed link names (its project comes from the record)."""
        doc = await self.collection.find_one({"_id": link_id})
        return ReviewerLink.from_doc(doc) if doc else None

    async def revoke(self, project_id: str, link_id: str, now: datetime) -> ReviewerLink | None:
        unrevoked = {"_id": link_id, "project_id": project_id, "revoked_at": None}
        await self.collection.update_one(unrevoked, {"$set": {"revoked_at": now}})
        return await self.get(project_id, link_id)

    async def page_for_task(
        self, project_id: str, task_id: str, first: int | None, after: str | None
    ) -> Page[ReviewerLink]:
        return await self._page({"project_id": project_id, "task_id": task_id}, first, after)
