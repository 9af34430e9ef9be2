"""The webhook delivery queue and log, kept in MongoDB so it survives restarts.

A delivery is ``pending`` until due (``next_at``), then claimed by one dispatcher
(``sending``, with a lease until ``next_at``: if that process dies, the lease runs
out and another claims it), then ``delivered``, back to ``pending`` with a later
``next_at``, or ``failed`` after the last attempt. Every attempt is logged on the
delivery. Both claims read the ``(status, next_at)`` index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store.pagination import Page
from app.store.ranges import time_range
from app.store.records import ProjectRecords

STATUSES = ("pending", "sending", "delivered", "failed")
MAX_LOGGED_ATTEMPTS = 20


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Attempt:
        return cls(
            at=doc["at"],
            status_code=doc.get("status_code"),
            error=doc.get("error"),
            duration_ms=doc.get("duration_ms", 0.0),
        )


@dataclass(frozen=True)
class Delivery:
    id: str
    project_id: str
    webhook_id: str
    event_id: str
    event: str
    body: str
    status: str
    attempts: int
    next_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    log: list[Attempt]

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Delivery:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            webhook_id=doc["webhook_id"],
            event_id=doc["event_id"],
            event=doc["event"],
            body=doc["body"],
            status=doc["status"],
            attempts=doc.get("attempts", 0),
            next_at=doc["next_at"],
            created_at=doc["created_at"],
            delivered_at=doc.get("delivered_at"),
            log=[Attempt.from_doc(a) for a in doc.get("log") or []],
        )


# Due deliveries another sender takes first are skipped; this many in a row.
CLAIM_ATTEMPTS = 5


class WebhookDeliveryStore(ProjectRecords[Delivery]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["webhook_deliveries"], Delivery.from_doc)

    async def enqueue(self, docs: list[dict[str, Any]]) -> None:
        """Queue deliveries (built by app/domain/webhooks/events.py), due at once."""
        if docs:
            await self.collection.insert_many(
                [{**d, "status": "pending", "attempts": 0, "log": []} for d in docs],
                ordered=False,
            )

    async def claim(self, now: datetime, lease: timedelta) -> Delivery | None:
        """Take the next due delivery, or one whose sender's lease ran out (a
        claimed delivery's ``next_at`` is the end of its lease).

        The oldest due one is found through the (status, next_at) index, then
        taken with an update conditional on the status and due time it was found
        with: when another sender took it first, the next one is tried. (Not one
        findAndModify: the embedded store runs that as a scan of every delivery.)"""
        due = time_range(until=now + timedelta(milliseconds=1))
        for status in ("pending", "sending"):
            for _ in range(CLAIM_ATTEMPTS):
                doc = await self.collection.find_one(
                    {"status": status, "next_at": due}, sort=[("next_at", 1)]
                )
                if doc is None:
                    break
                claimed = {"status": "sending", "next_at": now + lease}
                taken = await self.collection.update_one(
                    {"_id": doc["_id"], "status": status, "next_at": doc["next_at"]},
                    {"$set": claimed},
                )
                if taken.matched_count == 1:
                    return Delivery.from_doc({**doc, **claimed})
        return None

    async def release(self, delivery_id: str, now: datetime) -> None:
        """Give a claimed delivery back, due now (its sender is stopping)."""
        await self.collection.update_one(
            {"_id": delivery_id, "status": "sending"},
            {"$set": {"status": "pending", "next_at": now}},
        )

    async def finish_attempt(
        self,
        delivery_id: str,
        attempt: Attempt,
        *,
        status: str,
        next_at: datetime | None = None,
        keep_until: datetime | None = None,
    ) -> None:
        """Log an attempt; ``status`` delivered, pending (retry at ``next_at``) or
        failed. A finished delivery is removed after ``keep_until`` (TTL index)."""
        fields: dict[str, Any] = {"status": status}
        if status == "delivered":
            fields["delivered_at"] = attempt.at
        if next_at is not None:
            fields["next_at"] = next_at
        if keep_until is not None:
            fields["expire_at"] = keep_until
        await self.collection.update_one(
            {"_id": delivery_id, "status": "sending"},
            {
                "$set": fields,
                "$inc": {"attempts": 1},
                "$push": {
                    "log": {
                        "$each": [
                            {
                                "at": attempt.at,
                                "status_code": attempt.status_code,
                                "error": attempt.error,
                                "duration_ms": attempt.duration_ms,
                            }
                        ],
                        "$slice": -MAX_LOGGED_ATTEMPTS,
                    }
                },
            },
        )

    async def retry_now(self, project_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        """Queue a delivered or failed delivery again (a manual redelivery)."""
        query = {"_id": delivery_id, "project_id": project_id}
        taken = await self.collection.update_one(
            {**query, "status": {"$in": ["delivered", "failed"]}},
            {
                "$set": {"status": "pending", "next_at": now, "attempts": 0},
                "$unset": {"expire_at": ""},
            },
        )
        if taken.matched_count == 0:
            return None
        return await self.get(project_id, delivery_id)

    async def page(
        self,
        project_id: str,
        webhook_id: str | None,
        status: str | None,
        first: int | None,
        after: str | None,
    ) -> Page[Delivery]:
        query: dict[str, Any] = {"project_id": project_id}
        if webhook_id is not None:
            query["webhook_id"] = webhook_id
        if status is not None:
            query["status"] = status
        return await self._page(query, first, after)

    async def delete_for_webhook(self, project_id: str, webhook_id: str) -> None:
        await self.collection.delete_many({"project_id": project_id, "webhook_id": webhook_id})
