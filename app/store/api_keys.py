from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app import clock


@dataclass(frozen=True)
class ApiKey:
    id: str
    project_id: str
    role: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    # A Langfuse-style key pair's public half (its secret is the key's secret).
    public_key: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ApiKey:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            role=doc["role"],
            name=doc.get("name", ""),
            prefix=doc["prefix"],
            created_at=doc["created_at"],
            revoked_at=doc.get("revoked_at"),
            public_key=doc.get("public_key"),
        )


class ApiKeyStore:
    """API keys, stored as a SHA-256 hash of the secret (never the secret)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["api_keys"]

    async def create(
        self,
        project_id: str,
        role: str,
        name: str,
        key_hash: str,
        prefix: str,
        public_key: str | None = None,
    ) -> ApiKey:
        doc: dict[str, Any] = {
            "_id": str(uuid.uuid4()),
            "project_id": project_id,
            "role": role,
            "name": name,
            "hash": key_hash,
            "prefix": prefix,
            "created_at": clock.now(),
            "revoked_at": None,
        }
        if public_key is not None:
            doc["public_key"] = public_key
        await self.collection.insert_one(doc)
        return ApiKey.from_doc(doc)

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        doc = await self.collection.find_one({"hash": key_hash})
        return ApiKey.from_doc(doc) if doc else None

    async def by_public_key(self, public_key: str) -> ApiKey | None:
        doc = await self.collection.find_one({"public_key": public_key})
        return ApiKey.from_doc(doc) if doc else None

    async def list(self, project_id: str | None = None) -> list[ApiKey]:
        query = {} if project_id is None else {"project_id": project_id}
        docs = await self.collection.find(query, sort=[("created_at", -1)]).to_list()
        return [ApiKey.from_doc(d) for d in docs]

    async def revoke(self, key_id: str, project_id: str | None = None) -> ApiKey | None:
        query: dict[str, Any] = {"_id": key_id}
        if project_id is not None:
            query["project_id"] = project_id
        doc = await self.collection.find_one_and_update(
            query,
            [{"$set": {"revoked_at": {"$ifNull": ["$revoked_at", clock.now()]}}}],
            return_document=True,
        )
        return ApiKey.from_doc(doc) if doc else None
