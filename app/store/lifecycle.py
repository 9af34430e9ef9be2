"""What happens to each collection's documents when an end user is erased, when
runs are deleted, and when a project's retention period passes: one table
(``RULES``), one row per collection, and the batched deletes and scrubs it drives.

A collection Plaudit stores must have a row here (tests/test_lifecycle_rules.py
checks every collection app/store names): a new collection that holds a
person's data or a run's says how it is forgotten by adding a row, and one that
holds neither says so with an empty row and a ``why``.

Every operation works in batches of at most ``batch`` documents per statement, so
a large erasure or a long-expired project never holds one huge write.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from app.store.feedback import NO_HISTORY, Feedback, tombstone_update

# How a collection forgets an end user's documents.
DELETE = "delete"  # the documents go
BURY = "bury"  # feedback: reduced to a tombstone (ids and times), see FeedbackStore.bury
PULL = "pull"  # review state: the person is taken off its reviewers and lease
SCRUB = "scrub"  # webhook deliveries: the body is replaced by a note that it was erased

ERASED_BODY = json.dumps({"erased": True})


@dataclass(frozen=True)
class Rule:
    collection: str
    # Fields holding an end user's id (a document matches when any one does).
    user_fields: tuple[str, ...] = ()
    on_user: str = DELETE
    # Fields naming a run (a document goes with any run it names).
    run_fields: tuple[str, ...] = ()
    # The time retention counts from (None: not removed by a project's retention;
    # documents of expired runs still go with their runs).
    time_field: str | None = None
    # Whether documents carry project_id (else they are found by run alone, or by
    # ``parent``: the field naming their parent and the parent's collection).
    per_project: bool = True
    parent: tuple[str, str] | None = None
    # Whether `plaudit dump` copies the collection (a project's whole state).
    dumped: bool = True
    # Conditions that together cover every document, each added to a run query so
    # it has the shape of an index (feedback: live and deleted records).
    run_variants: tuple[dict[str, Any], ...] = ({},)
    # For rows that take part in nothing: what the collection holds instead.
    why: str = ""


RULES: list[Rule] = [
    Rule("projects", why="project settings", per_project=False),
    Rule("api_keys", why="hashed API keys of the project's services"),
    Rule(
        "runs",
        user_fields=("user_id",),
        run_fields=("_id",),
        time_field="start_time",
    ),
    Rule("tracing_projects", why="names of tracing projects"),
    Rule(
        "feedback",
        user_fields=("user_id", "actor"),
        on_user=BURY,
        run_fields=("run_id",),
        run_variants=({"deleted": False}, {"deleted": True}),
        time_field="created_at",
    ),
    Rule("feedback_rollups", why="aggregates; recomputed after an erasure or run deletion"),
    Rule(
        "run_tallies",
        why="aggregates keyed by run id; erasure and run deletion subtract what they "
        "remove, days past retention are read from raw feedback; rebuilt on load",
        dumped=False,
    ),
    Rule(
        "run_days",
        why="aggregates per run id, as run_tallies: erasure and run deletion subtract "
        "what they remove; rebuilt on load",
        dumped=False,
    ),
    Rule(
        "feedback_group_buckets",
        why="aggregates per user, source, model, tag, tracing project; an erasure subtracts "
        "the erased feedback and drops the user's groups, retention drops user buckets "
        "(app/domain/lifecycle/erasure.py, retention.py)",
    ),
    Rule("feedback_keys", why="the project's feedback keys"),
    Rule("webhooks", why="webhook endpoints"),
    # Bodies embed feedback (comments, user ids); found by the text they contain.
    Rule("webhook_deliveries", on_user=SCRUB, per_project=True),
    Rule("feedback_tokens", user_fields=("end_user_id",), run_fields=("run_id",)),
    Rule(
        "rate_limits",
        why="counters per client address, gone when their minute ends",
        per_project=False,
        dumped=False,
    ),
    Rule("feedback_tasks", why="feedback task definitions"),
    Rule("feedback_task_versions", why="feedback task schema versions"),
    Rule(
        "task_submissions",
        user_fields=("user_id", "reviewer"),
        run_fields=("run_id",),
        time_field="created_at",
    ),
    Rule(
        "review_states",
        user_fields=("reviewers", "lease_holder"),
        on_user=PULL,
        run_fields=("run_id",),
    ),
    Rule("reviewer_links", user_fields=("reviewer",)),
    Rule(
        "preferences",
        user_fields=("user_id",),
        run_fields=("preferred_run_id", "other_run_id"),
        time_field="created_at",
    ),
    Rule(
        "signals",
        user_fields=("user_id",),
        run_fields=("run_id",),
        time_field="created_at",
    ),
    Rule("autofeedback_jobs", why="automatic feedback jobs: settings and counts"),
    Rule("autofeedback_claims", run_fields=("run_id",)),
    # Results and evaluations carry errors and judges' reasons that may quote a run.
    Rule("autofeedback_results", run_fields=("run_id",)),
    Rule("key_judges", why="judge settings per feedback key"),
    Rule("evaluation_rules", why="online evaluation rules"),
    Rule(
        "evaluation_rule_versions",
        why="versions of evaluation rules",
        per_project=False,
        parent=("rule_id", "evaluation_rules"),
    ),
    Rule("evaluations", run_fields=("run_id",)),
    Rule("erasure_receipts", why="who erased when, and counts: no erased data"),
    Rule("datasets", why="dataset names, descriptions and schemas"),
    Rule(
        "dataset_versions",
        why="each dataset version's number and time",
        per_project=False,
        parent=("dataset_id", "datasets"),
    ),
    # An example built from a run (a dataset from feedback) copies the run's inputs
    # and outputs: it goes with the run.
    Rule("examples", run_fields=("source_run_id",)),
    Rule("comparative_experiments", why="which experiments are compared, by name"),
    # A run's score in a comparative experiment: it goes with the run.
    Rule("comparative_scores", run_fields=("run_id",)),
]

BY_NAME = {rule.collection: rule for rule in RULES}


@dataclass
class Removed:
    """Counts per collection, and what the caller must recompute or scrub after:
    the live feedback records removed (as they were), the ids of all feedback
    records removed or buried."""

    counts: Counter[str] = field(default_factory=Counter)
    feedback: list[Feedback] = field(default_factory=list)
    feedback_ids: set[str] = field(default_factory=set)

    def merge(self, other: Removed) -> None:
        self.counts.update(other.counts)
        self.feedback += other.feedback
        self.feedback_ids |= other.feedback_ids

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ErasureReceipt:
    """That an erasure happened: who asked, when, what kind, how much went. Never
    whose data it was, nor any of it."""

    id: str
    project_id: str
    kind: str  # end_user | runs
    by: str
    at: datetime
    counts: dict[str, int]

    def to_doc(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "project_id": self.project_id,
            "kind": self.kind,
            "by": self.by,
            "at": self.at,
            "counts": dict(self.counts),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ErasureReceipt:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            kind=doc["kind"],
            by=doc["by"],
            at=doc["at"],
            counts=dict(doc.get("counts") or {}),
        )


class LifecycleStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    def _collection(self, rule: Rule) -> AsyncCollection[dict[str, Any]]:
        return self.db[rule.collection]

    async def _batches(
        self, rule: Rule, query: dict[str, Any], batch: int, projection: dict[str, Any]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The matching documents, ``batch`` at a time, read again after the caller
        has dealt with the batch before (which must make them stop matching)."""
        last: set[Any] = set()
        while True:
            docs = await self._collection(rule).find(query, projection).limit(batch).to_list()
            ids = {d["_id"] for d in docs}
            if not docs or ids == last:  # none left, or none of these could be removed
                return
            last = ids
            yield docs

    async def _delete(self, rule: Rule, query: dict[str, Any], batch: int) -> Removed:
        removed = Removed()
        feedback = rule.collection == "feedback"
        projection = NO_HISTORY if feedback else {"_id": 1}
        async for docs in self._batches(rule, query, batch, projection):
            result = await self._collection(rule).delete_many(
                {"_id": {"$in": [d["_id"] for d in docs]}}
            )
            removed.counts[rule.collection] += result.deleted_count
            if feedback:
                removed.feedback += [Feedback.from_doc(d) for d in docs if not d.get("deleted")]
                removed.feedback_ids.update(d["_id"] for d in docs)
        return removed

    def _scope(self, rule: Rule, project_id: str) -> dict[str, Any]:
        return {"project_id": project_id} if rule.per_project else {}

    # -- an end user -----------------------------------------------------------

    async def user_run_ids(self, project_id: str, user_id: str, batch: int) -> list[str]:
        """Up to ``batch`` ids of the runs this end user made."""
        docs = (
            await self.db["runs"]
            .find({"project_id": project_id, "user_id": user_id}, {"_id": 1})
            .limit(batch)
            .to_list()
        )
        return [d["_id"] for d in docs]

    async def erase_user(
        self, project_id: str, user_id: str, *, bury_until: datetime, at: datetime, batch: int
    ) -> Removed:
        """One batch (at most ``batch`` documents per collection) of removing,
        burying or pulling this end user wherever a row names user fields (runs
        excepted: the caller deletes those, with what names them, first). Call it
        again until it removes nothing."""
        removed = Removed()
        for rule in RULES:
            if rule.collection == "runs":
                continue
            # One query per field, not an $or: each can use an index of its own
            # (the embedded store scans for a top-level $or).
            for name in rule.user_fields:
                query = {**self._scope(rule, project_id), name: user_id}
                found = await self._collection(rule).find(query, NO_HISTORY).limit(batch).to_list()
                if found:
                    await self._forget(rule, name, user_id, found, removed, at, bury_until)
        return removed

    async def _forget(
        self,
        rule: Rule,
        name: str,
        user_id: str,
        found: list[dict[str, Any]],
        removed: Removed,
        at: datetime,
        bury_until: datetime,
    ) -> None:
        """Delete, bury or pull the user from ``found`` (matched on field ``name``)."""
        collection = self._collection(rule)
        ids = {"_id": {"$in": [d["_id"] for d in found]}}
        if rule.on_user == DELETE:
            result = await collection.delete_many(ids)
            removed.counts[rule.collection] += result.deleted_count
        elif rule.on_user == BURY:
            for doc in found:
                await collection.update_one(
                    {"_id": doc["_id"]}, tombstone_update(doc, at=at, purge_at=bury_until)
                )
                if not doc.get("deleted"):
                    removed.feedback.append(Feedback.from_doc(doc))
            removed.feedback_ids.update(d["_id"] for d in found)
            removed.counts[rule.collection] += len(found)
        elif rule.on_user == PULL:
            if name == "lease_holder":
                change: dict[str, Any] = {"$set": {"lease_holder": None, "lease_until": None}}
            else:
                change = {"$pull": {name: user_id}}
            changed = await collection.update_many(ids, {**change, "$inc": {"rev": 1}})
            removed.counts[rule.collection] += changed.modified_count

    async def scrub_deliveries(self, project_id: str, needles: set[str], batch: int) -> int:
        """Replace the body of every delivery of the project that contains one of
        ``needles`` (a user id, erased feedback or run ids); a pending one is not
        sent. Returns how many were scrubbed."""
        if not needles:
            return 0
        collection = self.db["webhook_deliveries"]
        hits: list[str] = []
        scrubbed = 0
        cursor = collection.find(
            {"project_id": project_id, "body": {"$ne": ERASED_BODY}},
            {"body": 1},
            batch_size=batch,
        )
        async for doc in cursor:
            body = doc.get("body") or ""
            if any(n in body for n in needles):
                hits.append(doc["_id"])
            if len(hits) >= batch:
                scrubbed += await self._scrub(hits)
                hits = []
        return scrubbed + await self._scrub(hits)

    async def _scrub(self, delivery_ids: list[str]) -> int:
        if not delivery_ids:
            return 0
        collection = self.db["webhook_deliveries"]
        ids = {"_id": {"$in": delivery_ids}}
        await collection.update_many(
            {**ids, "status": {"$in": ["pending", "sending"]}}, {"$set": {"status": "failed"}}
        )
        result = await collection.update_many(ids, {"$set": {"body": ERASED_BODY, "log": []}})
        return result.modified_count

    # -- runs ------------------------------------------------------------------

    async def run_ids(self, query: dict[str, Any], batch: int) -> list[str]:
        """Up to ``batch`` ids of runs matching ``query`` (RunQuery.to_mongo)."""
        docs = await self.db["runs"].find(query, {"_id": 1}).limit(batch).to_list()
        return [d["_id"] for d in docs]

    async def count_runs(self, query: dict[str, Any]) -> int:
        return await self.db["runs"].count_documents(query)

    async def delete_runs(self, project_id: str, run_ids: list[str], batch: int) -> Removed:
        """Delete these runs (the caller checked they are the project's) and every
        document that names them."""
        removed = Removed()
        for rule in RULES:
            if not rule.run_fields or rule.collection == "runs":
                continue
            # One query per field (and per variant), each the shape of an index.
            for name in rule.run_fields:
                for variant in rule.run_variants:
                    query = {**self._scope(rule, project_id), **variant, name: {"$in": run_ids}}
                    removed.merge(await self._delete(rule, query, batch))
        result = await self.db["runs"].delete_many(
            {"project_id": project_id, "_id": {"$in": run_ids}}
        )
        removed.counts["runs"] += result.deleted_count
        return removed

    async def bury_old_tombstones(
        self, project_id: str, *, at: datetime, purge_at: datetime, batch: int
    ) -> int:
        """Tombstones written before tombstones lost their content (no ``purge_at``)
        reduced as deletes now reduce them. One pass over the project's deleted
        records (the (project, deleted) index's shape); returns how many."""
        buried = 0
        cursor = self.db["feedback"].find(
            {"project_id": project_id, "deleted": True}, NO_HISTORY, batch_size=batch
        )
        async for doc in cursor:
            if "purge_at" not in doc:
                await self.db["feedback"].update_one(
                    {"_id": doc["_id"]}, tombstone_update(doc, at=at, purge_at=purge_at)
                )
                buried += 1
        return buried

    # -- retention -------------------------------------------------------------

    async def expired_run_ids(self, project_id: str, before: datetime, batch: int) -> list[str]:
        return await self.run_ids({"project_id": project_id, "start_time": {"$lt": before}}, batch)

    async def expire(self, project_id: str, before: datetime, batch: int) -> Removed:
        """Delete up to ``batch`` documents per collection that retention counts
        (runs excepted: see expired_run_ids) created before ``before``."""
        removed = Removed()
        for rule in RULES:
            if rule.time_field is None or rule.collection == "runs":
                continue
            query = {**self._scope(rule, project_id), rule.time_field: {"$lt": before}}
            docs = (
                await self._collection(rule)
                .find(query, {"_id": 1, "key": 1, "deleted": 1})
                .limit(batch)
                .to_list()
            )
            if not docs:
                continue
            result = await self._collection(rule).delete_many(
                {"_id": {"$in": [d["_id"] for d in docs]}}
            )
            removed.counts[rule.collection] += result.deleted_count
        return removed

    # -- receipts --------------------------------------------------------------

    async def add_receipt(self, receipt: ErasureReceipt) -> None:
        await self.db["erasure_receipts"].insert_one(receipt.to_doc())

    async def receipts(self, project_id: str, limit: int) -> list[ErasureReceipt]:
        docs = (
            await self.db["erasure_receipts"]
            .find({"project_id": project_id}, sort=[("at", -1), ("_id", -1)])
            .limit(limit)
            .to_list()
        )
        return [ErasureReceipt.from_doc(d) for d in docs]
