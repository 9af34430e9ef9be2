"""Online evaluation rules (app/domain/evaluation/): which runs to sample, how often,
what scores them, and the limits and alerts that go with it.

``evaluation_rules``: one document per rule, holding its current version's
``definition`` (the domain reads and writes its shape), its ``status`` (active or
paused) and the state of its alerts. Editing a rule replaces the definition and
increments ``version``; every version's definition is also kept in
``evaluation_rule_versions``, so an evaluation's ``sourceInfo`` can always be
traced to the definition that produced it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store.records import ProjectRecords

STATUSES = ("active", "paused")


@dataclass(frozen=True)
class EvaluationRule:
    id: str
    project_id: str
    name: str
    version: int
    status: str  # active | paused
    definition: dict[str, Any]  # the domain's RuleDefinition, as stored
    # Per alert, by its index in the definition ("0", "1"...): {firing, value, at}.
    alert_state: dict[str, dict[str, Any]]
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> EvaluationRule:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            name=doc["name"],
            version=doc["version"],
            status=doc["status"],
            definition=doc["definition"],
            alert_state=dict(doc.get("alert_state") or {}),
            created_by=doc["created_by"],
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )


@dataclass(frozen=True)
class RuleVersion:
    rule_id: str
    version: int
    definition: dict[str, Any]
    created_by: str
    created_at: datetime


class EvaluationRuleStore(ProjectRecords[EvaluationRule]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["evaluation_rules"], EvaluationRule.from_doc)
        self.versions = db["evaluation_rule_versions"]

    async def create(
        self, project_id: str, name: str, definition: dict[str, Any], created_by: str, at: datetime
    ) -> EvaluationRule:
        """Insert a rule, active, at version 1 (DuplicateKeyError: the name is taken)."""
        rule_id = str(uuid.uuid4())
        doc: dict[str, Any] = {
            "_id": rule_id,
            "project_id": project_id,
            "name": name,
            "version": 1,
            "status": "active",
            "definition": definition,
            "alert_state": {},
            "created_by": created_by,
            "created_at": at,
            "updated_at": at,
        }
        await self.collection.insert_one(doc)
        await self._record_version(rule_id, 1, definition, created_by, at)
        return EvaluationRule.from_doc(doc)

    async def _record_version(
        self, rule_id: str, version: int, definition: dict[str, Any], by: str, at: datetime
    ) -> None:
        await self.versions.update_one(
            {"rule_id": rule_id, "version": version},
            {
                "$setOnInsert": {
                    "_id": str(uuid.uuid4()),
                    "definition": definition,
                    "created_by": by,
                    "created_at": at,
                }
            },
            upsert=True,
        )

    async def replace_definition(
        self,
        project_id: str,
        rule_id: str,
        expected_version: int,
        name: str,
        definition: dict[str, Any],
        by: str,
        at: datetime,
    ) -> EvaluationRule | None:
        """Make ``definition`` the rule's next version, if the rule is still at
        ``expected_version`` (None when it is not: another edit came first, or the
        rule is gone). Alert states start over."""
        version = expected_version + 1
        result = await self.collection.update_one(
            {"_id": rule_id, "project_id": project_id, "version": expected_version},
            {
                "$set": {
                    "name": name,
                    "version": version,
                    "definition": definition,
                    "alert_state": {},
                    "updated_at": at,
                }
            },
        )
        if result.matched_count == 0:
            return None
        await self._record_version(rule_id, version, definition, by, at)
        return await self.get(project_id, rule_id)

    async def set_status(
        self, project_id: str, rule_id: str, status: str, at: datetime
    ) -> EvaluationRule | None:
        result = await self.collection.update_one(
            {"_id": rule_id, "project_id": project_id},
            {"$set": {"status": status, "updated_at": at}},
        )
        if result.matched_count == 0:
            return None
        return await self.get(project_id, rule_id)

    async def set_alert_state(
        self, rule_id: str, version: int, index: int, was_firing: bool, state: dict[str, Any]
    ) -> bool:
        """Move alert ``index`` of the rule (still at ``version``) from ``was_firing``
        to ``state``. True for the one caller that made the move: several processes
        may check the same alert, and only one of them announces the change."""
        field = f"alert_state.{index}"
        condition: dict[str, Any] = {f"{field}.firing": True if was_firing else {"$ne": True}}
        result = await self.collection.update_one(
            {"_id": rule_id, "version": version, **condition}, {"$set": {field: state}}
        )
        return result.matched_count == 1

    async def delete(self, project_id: str, rule_id: str) -> bool:
        result = await self.collection.delete_one({"_id": rule_id, "project_id": project_id})
        if result.deleted_count:
            await self.versions.delete_many({"rule_id": rule_id})
        return result.deleted_count == 1

    async def by_name(self, project_id: str, name: str) -> EvaluationRule | None:
        doc = await self.collection.find_one({"project_id": project_id, "name": name})
        return EvaluationRule.from_doc(doc) if doc else None

    async def of_project(self, project_id: str) -> list[EvaluationRule]:
        docs = await self.collection.find(
            {"project_id": project_id}, sort=[("created_at", 1), ("_id", 1)]
        ).to_list()
        return [EvaluationRule.from_doc(d) for d in docs]

    async def count(self, project_id: str) -> int:
        return await self.collection.count_documents({"project_id": project_id})

    async def active(self, project_id: str | None = None) -> list[EvaluationRule]:
        """Active rules: of one project, or of every project (the workers')."""
        query: dict[str, Any] = {"status": "active"}
        if project_id is not None:
            query["project_id"] = project_id
        docs = await self.collection.find(query).to_list()
        return [EvaluationRule.from_doc(d) for d in docs]

    async def version_history(self, rule_id: str) -> list[RuleVersion]:
        docs = await self.versions.find({"rule_id": rule_id}, sort=[("version", 1)]).to_list()
        return [
            RuleVersion(
                rule_id=d["rule_id"],
                version=d["version"],
                definition=d["definition"],
                created_by=d["created_by"],
                created_at=d["created_at"],
            )
            for d in docs
        ]
