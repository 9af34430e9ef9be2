"""Webhooks: where to POST feedback events, and the secret that signs them.

The secret is stored as given (signing needs it); it is shown to the client once,
when the webhook is created, and only its first characters afterwards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app import clock
from app.store.records import ProjectRecords


@dataclass(frozen=True)
class Webhook:
    id: str
    project_id: str
    url: str
    events: list[str]
    secret: str
    description: str | None
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Webhook:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            url=doc["url"],
            events=list(doc.get("events") or []),
            secret=doc["secret"],
            description=doc.get("description"),
            created_at=doc["created_at"],
        )

    @property
    def secret_prefix(self) -> str:
        return self.secret[:6]


class WebhookStore(ProjectRecords[Webhook]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["webhooks"], Webhook.from_doc)

    async def create(
        self, project_id: str, url: str, events: list[str], secret: str, description: str | None
    ) -> Webhook:
        doc = {
            "_id": str(uuid.uuid4()),
            "project_id": project_id,
            "url": url,
            "events": events,
            "secret": secret,
            "description": description,
            "created_at": clock.now(),
        }
        await self.collection.insert_one(doc)
        return Webhook.from_doc(doc)

    async def list(self, project_id: str) -> list[Webhook]:
        docs = await self.collection.find(
            {"project_id": project_id}, sort=[("created_at", 1), ("_id", 1)]
        ).to_list()
        return [Webhook.from_doc(d) for d in docs]

    async def delete(self, project_id: str, webhook_id: str) -> bool:
        result = await self.collection.delete_one({"_id": webhook_id, "project_id": project_id})
        return result.deleted_count == 1
