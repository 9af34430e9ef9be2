"""The online evaluation queue and its results: one document per (rule, rule
version, run), unique, so a run is evaluated at most once per version of a rule
however many processes sample it, and however often it is written.

An evaluation is ``pending`` until due (``next_at``), then taken by one worker
(``running``, its lease until ``next_at``, with the worker's ``owner`` name: if that
process dies the lease runs out and another takes it), then ``done`` (with its
score), ``failed`` (after the last attempt, with the error), ``skipped`` (with a
``reason``: ``budget``, ``superseded``, ``not_applicable``), or back to ``pending``
with a later ``next_at`` (a retry, or a rate limit). A finished evaluation's
``next_at`` is when it finished.

Taking one is a read through the ``(rule_id, status, next_at)`` index, then an update
conditional on the status and due time it was read with (as webhook deliveries
are taken: no findAndModify, which the embedded store runs as a scan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from app.store.ranges import time_range

STATUSES = ("pending", "running", "done", "failed", "skipped")
MAX_ERROR_CHARS = 2000
# Due evaluations another worker takes first are skipped; this many in a row.
CLAIM_ATTEMPTS = 5


@dataclass(frozen=True)
class Evaluation:
    id: str
    project_id: str
    rule_id: str
    version: int
    run_id: str
    run_at: datetime  # the run's start time: what the numbers over time are bucketed by
    status: str
    attempts: int
    next_at: datetime
    owner: str | None
    score: float | None
    reason: str | None
    error: str | None
    tokens: int
    created_at: datetime
    # Taken back from a worker that may have stored its score already: its lease ran
    # out (the process died), or it was handed back mid-flight (the process stopped).
    recovered: bool = False

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Evaluation:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            rule_id=doc["rule_id"],
            version=doc["version"],
            run_id=doc["run_id"],
            run_at=doc["run_at"],
            status=doc["status"],
            attempts=doc.get("attempts", 0),
            next_at=doc["next_at"],
            owner=doc.get("owner"),
            score=doc.get("score"),
            reason=doc.get("reason"),
            error=doc.get("error"),
            tokens=doc.get("tokens", 0),
            created_at=doc["created_at"],
            recovered=bool(doc.get("interrupted")),
        )


@dataclass(frozen=True)
class ScoredRun:
    run_id: str
    run_at: datetime
    score: float


class EvaluationStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["evaluations"]

    async def enqueue(self, docs: list[dict[str, Any]]) -> int:
        """Queue evaluations (built by app/domain/evaluation/queue.py), due at once.
        One already queued for the same rule, version and run is left as it is.
        Returns how many were new."""
        if not docs:
            return 0
        try:
            result = await self.collection.insert_many(docs, ordered=False)
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            return int(exc.details.get("nInserted", len(docs) - len(errors)))

    async def claim(
        self, rule_ids: list[str], owner: str, now: datetime, lease_until: datetime
    ) -> Evaluation | None:
        """Take the next due evaluation of one of these rules (tried in this order),
        or one whose worker's lease ran out.

        One rule at a time: ``{rule_id, status, next_at < now}`` is exactly the
        ``(rule_id, status, next_at)`` index's shape, which the embedded store
        reads through the index; a filter on several rules at once it scans."""
        due = time_range(until=now + timedelta(milliseconds=1))
        for rule_id in rule_ids:
            for status in ("pending", "running"):
                for _ in range(CLAIM_ATTEMPTS):
                    doc = await self.collection.find_one(
                        {"rule_id": rule_id, "status": status, "next_at": due},
                        sort=[("next_at", 1)],
                    )
                    if doc is None:
                        break
                    taken = {"status": "running", "next_at": lease_until, "owner": owner}
                    result = await self.collection.update_one(
                        {"_id": doc["_id"], "status": status, "next_at": doc["next_at"]},
                        {"$set": taken},
                    )
                    if result.matched_count == 1:
                        lapsed = status == "running"
                        return Evaluation.from_doc(
                            {**doc, **taken, "interrupted": lapsed or doc.get("interrupted")}
                        )
        return None

    def _held(self, evaluation_id: str, owner: str) -> dict[str, Any]:
        return {"_id": evaluation_id, "status": "running", "owner": owner}

    async def running(self, rule_id: str, now: datetime) -> int:
        """Evaluations of the rule being worked on now (live leases), in any process."""
        return await self.collection.count_documents(
            {"rule_id": rule_id, "status": "running", "next_at": time_range(since=now)}
        )

    async def release(
        self,
        evaluation_id: str,
        owner: str,
        next_at: datetime,
        *,
        error: str | None = None,
        interrupted: bool = False,
    ) -> bool:
        """Give a taken evaluation back, due at ``next_at``. With ``error`` it counts
        as a failed attempt (a retry); without, it does not (a rate limit, a stop).
        ``interrupted``: handed back mid-flight, its score may be stored already."""
        sets: dict[str, Any] = {"status": "pending", "next_at": next_at, "owner": None}
        if interrupted:
            sets["interrupted"] = True
        changes: dict[str, Any] = {"$set": sets}
        if error is not None:
            changes["$set"]["error"] = error[:MAX_ERROR_CHARS]
            changes["$inc"] = {"attempts": 1}
        result = await self.collection.update_one(self._held(evaluation_id, owner), changes)
        return result.matched_count == 1

    async def finish(
        self,
        evaluation_id: str,
        owner: str,
        status: str,
        at: datetime,
        *,
        score: float | None = None,
        key: str | None = None,
        reason: str | None = None,
        error: str | None = None,
        tokens: int = 0,
        attempt: bool = True,
    ) -> bool:
        """End a taken evaluation: done (with its score), failed or skipped. False
        when this worker no longer holds it (its lease ran out and another took it)."""
        sets: dict[str, Any] = {
            "status": status,
            "next_at": at,
            "owner": None,
            "score": score,
            "reason": reason,
            "error": error[:MAX_ERROR_CHARS] if error else None,
            "tokens": tokens,
        }
        if key is not None:
            sets["key"] = key
        changes: dict[str, Any] = {"$set": sets}
        if attempt:
            changes["$inc"] = {"attempts": 1}
        result = await self.collection.update_one(self._held(evaluation_id, owner), changes)
        return result.matched_count == 1

    async def skip_due(self, rule_id: str, now: datetime, reason: str) -> int:
        """Skip every due pending evaluation of the rule (its budget is spent)."""
        result = await self.collection.update_many(
            {"rule_id": rule_id, "status": "pending", "next_at": time_range(until=now)},
            {"$set": {"status": "skipped", "reason": reason, "next_at": now, "owner": None}},
        )
        return result.modified_count

    async def counts(self, rule_id: str) -> dict[str, int]:
        """The rule's evaluations by state: ``done``, ``failed``, ``pending``,
        ``running``, and ``skipped:<reason>``."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"rule_id": rule_id}},
            {"$group": {"_id": {"status": "$status", "reason": "$reason"}, "n": {"$sum": 1}}},
        ]
        counts: dict[str, int] = {}
        for row in await (await self.collection.aggregate(pipeline)).to_list():
            status, reason = row["_id"].get("status"), row["_id"].get("reason")
            name = f"skipped:{reason}" if status == "skipped" else status
            counts[name] = counts.get(name, 0) + row["n"]
        return counts

    async def scored(
        self, rule_id: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[ScoredRun]:
        """The rule's done evaluations with a score, by the runs' start time in the
        window, newest runs first, at most ``limit``."""
        query: dict[str, Any] = {"rule_id": rule_id, "status": "done"}
        span = time_range(since, until)
        if span:
            query["run_at"] = span
        docs = await self.collection.find(
            query, {"run_id": 1, "run_at": 1, "score": 1}, sort=[("run_at", -1)], limit=limit
        ).to_list()
        return [
            ScoredRun(d["run_id"], d["run_at"], float(d["score"]))
            for d in docs
            if d.get("score") is not None
        ]

    async def failures(self, rule_id: str, limit: int) -> list[Evaluation]:
        docs = await self.collection.find(
            {"rule_id": rule_id, "status": "failed"}, sort=[("next_at", -1)], limit=limit
        ).to_list()
        return [Evaluation.from_doc(d) for d in docs]

    async def delete_for_rule(self, rule_id: str) -> None:
        await self.collection.delete_many({"rule_id": rule_id})
