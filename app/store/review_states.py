"""Review state per (feedback task, run): who has reviewed it, and who holds the
lease on it now.

A run with no state document has no reviews and no lease. The review queue is a
query over ``runs`` (the task's tag selector) joined with this collection, so runs
ingested after a task was created join its queue without any bookkeeping.

"Needs review" is ``reviewers`` having fewer than ``reviews_required`` entries,
written as ``reviewers.<n-1>`` not existing, so the test is one indexable condition
and changing a task's ``reviews_required`` takes effect at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.store.pagination import Page, decode_cursor, encode_cursor, page_size
from app.store.runs import Run


@dataclass(frozen=True)
class ReviewState:
    task_id: str
    run_id: str
    reviewers: list[str]
    lease_holder: str | None
    lease_until: datetime | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ReviewState:
        return cls(
            task_id=doc["task_id"],
            run_id=doc["run_id"],
            reviewers=doc.get("reviewers") or [],
            lease_holder=doc.get("lease_holder"),
            lease_until=doc.get("lease_until"),
        )

    @classmethod
    def empty(cls, task_id: str, run_id: str) -> ReviewState:
        return cls(task_id, run_id, [], None, None)

    def leased_at(self, now: datetime) -> bool:
        return (
            self.lease_holder is not None
            and self.lease_until is not None
            and self.lease_until > now
        )


@dataclass(frozen=True)
class QueueEntry:
    run: Run
    state: ReviewState


@dataclass(frozen=True)
class QueueFilter:
    """Which runs of a task's queue to list."""

    project_id: str
    task_id: str
    tags: list[str]
    reviews_required: int
    # Leave out runs this reviewer has already reviewed.
    reviewer: str | None = None
    # Leave out runs leased to someone other than ``reviewer`` at this time.
    free_at: datetime | None = None
    # Leave out these runs (the ones a reviewer skipped).
    skip_run_ids: tuple[str, ...] = ()


def _needs_review(reviews_required: int, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}reviewers.{reviews_required - 1}": {"$exists": False}}


class ReviewStateStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["review_states"]
        self.runs = db["runs"]

    def _queue_pipeline(
        self, f: QueueFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[dict[str, Any]]:
        match: dict[str, Any] = {"project_id": f.project_id}
        if f.tags:
            match["tags"] = {"$all": list(f.tags)}
        if f.skip_run_ids:
            match["_id"] = {"$nin": list(f.skip_run_ids)}
        if after is not None:
            at, run_id = after
            match["$or"] = [{"start_time": {"$gt": at}}, {"start_time": at, "_id": {"$gt": run_id}}]
        state_match: dict[str, Any] = _needs_review(f.reviews_required, "review.0.")
        conditions: list[dict[str, Any]] = [state_match]
        if f.reviewer is not None:
            conditions.append({"review.0.reviewers": {"$ne": f.reviewer}})
        if f.free_at is not None:
            free: list[dict[str, Any]] = [
                {"review.0.lease_until": None},
                {"review.0.lease_until": {"$lt": f.free_at}},
            ]
            if f.reviewer is not None:
                free.append({"review.0.lease_holder": f.reviewer})
            conditions.append({"$or": free})
        return [
            {"$match": match},
            {"$sort": {"start_time": 1, "_id": 1}},
            {
                # An equality join on run id (indexed with the task id); a correlated
                # $expr pipeline could scan review_states once per run.
                "$lookup": {
                    "from": self.collection.name,
                    "localField": "_id",
                    "foreignField": "run_id",
                    "pipeline": [{"$match": {"task_id": f.task_id}}],
                    "as": "review",
                }
            },
            {"$match": {"$and": conditions}},
            {"$limit": limit},
        ]

    async def queue_page(
        self, f: QueueFilter, first: int | None, after: str | None
    ) -> Page[QueueEntry]:
        """Runs that still need review, oldest first (by start time)."""
        size = page_size(first)
        position = decode_cursor(after) if after is not None else None
        pipeline = self._queue_pipeline(f, position, size + 1)
        docs = await (await self.runs.aggregate(pipeline)).to_list()
        has_next = len(docs) > size
        docs = docs[:size]
        entries = []
        for doc in docs:
            states = doc.pop("review", [])
            state = (
                ReviewState.from_doc(states[0])
                if states
                else ReviewState.empty(f.task_id, doc["_id"])
            )
            entries.append(QueueEntry(run=Run.from_doc(doc), state=state))
        return Page(
            items=entries,
            cursors=[encode_cursor(d["start_time"], d["_id"]) for d in docs],
            has_next_page=has_next,
        )

    async def claim_candidates(self, f: QueueFilter, limit: int) -> list[str]:
        """Run ids, oldest first, that ``f.reviewer`` could claim at ``f.free_at``."""
        pipeline = self._queue_pipeline(f, None, limit)
        pipeline.append({"$project": {"_id": 1}})
        docs = await (await self.runs.aggregate(pipeline)).to_list()
        return [d["_id"] for d in docs]

    async def queue_count(self, f: QueueFilter, cap: int) -> int:
        """How many runs are in the queue, counted up to ``cap``."""
        pipeline = self._queue_pipeline(f, None, cap)
        pipeline.append({"$count": "n"})
        docs = await (await self.runs.aggregate(pipeline)).to_list()
        return int(docs[0]["n"]) if docs else 0

    async def held_by(
        self, project_id: str, task_id: str, reviewer: str, now: datetime
    ) -> ReviewState | None:
        """The unexpired lease this reviewer holds on a run of this task, if any."""
        doc = await self.collection.find_one(
            {
                "project_id": project_id,
                "task_id": task_id,
                "lease_holder": reviewer,
                "lease_until": {"$gt": now},
            },
            sort=[("lease_until", 1)],
        )
        return ReviewState.from_doc(doc) if doc else None

    async def _state(self, project_id: str, task_id: str, run_id: str) -> dict[str, Any] | None:
        """The run's state document, read by the unique (task, run) key: the shape
        the embedded store serves from its index (a task id names its project)."""
        doc = await self.collection.find_one({"task_id": task_id, "run_id": run_id})
        return doc if doc is not None and doc["project_id"] == project_id else None

    async def try_claim(
        self,
        project_id: str,
        task_id: str,
        run_id: str,
        *,
        reviewer: str,
        reviews_required: int,
        now: datetime,
        until: datetime,
    ) -> ReviewState | None:
        """Lease the run to ``reviewer`` if, at this instant, it still needs review,
        they have not reviewed it, and nobody else holds an unexpired lease.

        The state is read and checked, then the lease written with update_one
        conditional on the revision read (every change to a state bumps it): when
        two reviewers race for the same run, exactly one gets it. A run without a
        state document is claimed by an insert; a racing insert loses on the unique
        (task, run) index and gets None. (Not findAndModify, which the embedded
        store runs as a scan of every state.)"""
        doc = await self._state(project_id, task_id, run_id)
        lease = {"lease_holder": reviewer, "lease_until": until}
        if doc is None:
            created = {
                "_id": str(uuid.uuid4()),
                "project_id": project_id,
                "task_id": task_id,
                "run_id": run_id,
                "reviewers": [],
                **lease,
                "rev": 0,
            }
            try:
                await self.collection.insert_one(created)
            except DuplicateKeyError:
                return None
            return ReviewState.from_doc(created)
        state = ReviewState.from_doc(doc)
        if (
            reviewer in state.reviewers
            or len(state.reviewers) >= reviews_required
            or (state.leased_at(now) and state.lease_holder != reviewer)
        ):
            return None
        taken = await self.collection.update_one(
            {"_id": doc["_id"], "rev": doc.get("rev")}, {"$set": lease, "$inc": {"rev": 1}}
        )
        return ReviewState.from_doc({**doc, **lease}) if taken.matched_count == 1 else None

    async def add_reviewer(
        self, project_id: str, task_id: str, run_id: str, reviewer: str
    ) -> ReviewState:
        """Count a review by ``reviewer`` and release their lease on the run."""
        key = {"task_id": task_id, "run_id": run_id}
        update = {
            "$addToSet": {"reviewers": reviewer},
            "$inc": {"rev": 1},
            "$setOnInsert": {"_id": str(uuid.uuid4()), "project_id": project_id},
        }
        try:
            await self.collection.update_one(key, update, upsert=True)
        except DuplicateKeyError:
            await self.collection.update_one(key, update, upsert=True)
        doc = await self._state(project_id, task_id, run_id)
        assert doc is not None
        if doc.get("lease_holder") == reviewer:
            await self._release(doc["_id"], reviewer)
            doc = {**doc, "lease_holder": None, "lease_until": None}
        return ReviewState.from_doc(doc)

    async def release(self, project_id: str, task_id: str, run_id: str, reviewer: str) -> bool:
        doc = await self._state(project_id, task_id, run_id)
        return doc is not None and await self._release(doc["_id"], reviewer)

    async def _release(self, state_id: str, reviewer: str) -> bool:
        result = await self.collection.update_one(
            {"_id": state_id, "lease_holder": reviewer},
            {"$set": {"lease_holder": None, "lease_until": None}, "$inc": {"rev": 1}},
        )
        return result.modified_count == 1

    async def get(self, project_id: str, task_id: str, run_id: str) -> ReviewState:
        doc = await self._state(project_id, task_id, run_id)
        return ReviewState.from_doc(doc) if doc else ReviewState.empty(task_id, run_id)
