from __future__ import annotations

import asyncio
import logging
import operator
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.errors import Conflict
from app.store import jsonsafe
from app.store.group_commit import GroupInserts
from app.store.pagination import Page
from app.store.queries import CHANGE_ATTEMPTS, one_of
from app.store.ranges import number_range, time_range
from app.store.rate_limits import Quota
from app.store.records import ProjectRecords

JSON_FIELDS = ("value", "correction", "source_info")
# Fields a change to a feedback record can touch (and history records).
CONTENT_FIELDS = ("score", "value", "comment", "correction", "retracted")
# A record keeps its most recent changes inside itself; older ones are dropped
# (a person flipping a vote hundreds of times must not grow a document forever).
HISTORY_LIMIT = 500
# Reads of records leave the embedded history out.
NO_HISTORY = {"history": 0}
# What a deleted record keeps (its tombstone): ids, its key and times, so a retried
# create with its id is refused; never content or history. ``purge_at`` (a TTL
# index) removes the tombstone itself later.
TOMBSTONE_FIELDS = ("_id", "project_id", "run_id", "key", "deleted", "created_at", "modified_at")

log = logging.getLogger("plaudit.feedback")


def tombstone_update(doc: dict[str, Any], *, at: datetime, purge_at: datetime) -> dict[str, Any]:
    """The update that turns ``doc`` (read without its history) into a tombstone."""
    gone = {name: "" for name in doc if name not in (*TOMBSTONE_FIELDS, "rev", "purge_at")}
    gone["history"] = ""
    return {
        "$set": {"deleted": True, "modified_at": at, "purge_at": purge_at},
        "$unset": gone,
        "$inc": {"rev": 1},
    }


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    change: str  # created | updated | retracted | deleted
    by: str  # who: "key:<api key id>", "token:<token id>", "cli"
    via: str  # graphql | widget | email | rest | cli
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> HistoryEntry:
        return cls(
            at=doc["at"],
            change=doc["change"],
            by=doc["by"],
            via=doc["via"],
            old=jsonsafe.unescape(doc.get("old")),
            new=jsonsafe.unescape(doc.get("new")),
        )


@dataclass(frozen=True)
class ChangeMeta:
    """Who changed a record, how, and when: the history entry's header."""

    change: str
    by: str
    via: str
    at: datetime

    def entry(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "at": self.at,
            "change": self.change,
            "by": self.by,
            "via": self.via,
            "old": jsonsafe.escape(old),
            "new": jsonsafe.escape(new),
        }


@dataclass(frozen=True)
class Feedback:
    id: str
    project_id: str
    run_id: str
    key: str
    score: float | bool | None
    value: Any
    comment: str | None
    correction: Any
    source_type: str
    source_info: Any
    source_run_id: str | None
    user_id: str | None
    actor: str | None
    retracted: bool
    deleted: bool
    created_at: datetime
    modified_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    # Recorded before its run arrived, and the run has not arrived since.
    pending: bool = False

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Feedback:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            run_id=doc["run_id"],
            key=doc.get("key", ""),
            score=doc.get("score"),
            value=jsonsafe.unescape(doc.get("value")),
            comment=doc.get("comment"),
            correction=jsonsafe.unescape(doc.get("correction")),
            source_type=doc.get("source_type", "api"),
            source_info=jsonsafe.unescape(doc.get("source_info")),
            source_run_id=doc.get("source_run_id"),
            user_id=doc.get("user_id"),
            actor=doc.get("actor"),
            retracted=doc.get("retracted", False),
            deleted=doc.get("deleted", False),
            created_at=doc["created_at"],
            modified_at=doc.get("modified_at", doc["created_at"]),
            extra=doc.get("extra") or {},
            pending=bool(doc.get("pending")),
        )

    def content(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


@dataclass(frozen=True)
class KeyStatsRow:
    run_id: str
    key: str
    count: int
    scored: int
    mean: float | None
    min: float | None
    max: float | None


@dataclass
class FeedbackQuery:
    run_ids: list[str] | None = None
    keys: list[str] | None = None
    source_types: list[str] | None = None
    user_ids: list[str] | None = None
    has_score: bool | None = None
    has_comment: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_retracted: bool = True
    # True: only feedback whose run has not arrived; False: only feedback on runs.
    pending: bool | None = None

    def to_mongo(self, project_id: str) -> dict[str, Any]:
        query: dict[str, Any] = {"project_id": project_id, "deleted": False}
        if self.pending is True:
            query["pending"] = True
        elif self.pending is False:
            query["pending"] = {"$ne": True}
        for name, stored in (
            ("run_ids", "run_id"),
            ("keys", "key"),
            ("source_types", "source_type"),
            ("user_ids", "user_id"),
        ):
            values = getattr(self, name)
            if values is not None:
                query[stored] = one_of(values)
        if self.has_score is True:
            query["score"] = {"$ne": None}
        elif self.has_score is False:
            query["score"] = None
        if self.has_comment is True:
            query["comment"] = {"$nin": [None, ""]}
        elif self.has_comment is False:
            query["comment"] = {"$in": [None, ""]}
        span = time_range(self.created_after, self.created_before)
        if span:
            query["created_at"] = span
        if not self.include_retracted:
            query["retracted"] = False
        return query


def to_stored(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonsafe.escape(v) if k in JSON_FIELDS else v for k, v in fields.items()}


class FeedbackStore(ProjectRecords[Feedback]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["feedback"], Feedback.from_doc, projection=NO_HISTORY)
        # Concurrent inserts go to the store together (see group_commit.py).
        self.inserts = GroupInserts(self.collection)

    async def get(
        self, project_id: str, feedback_id: str, *, include_deleted: bool = False
    ) -> Feedback | None:
        query: dict[str, Any] = {"_id": feedback_id, "project_id": project_id}
        if not include_deleted:
            query["deleted"] = False
        doc = await self.collection.find_one(query, NO_HISTORY)
        return Feedback.from_doc(doc) if doc else None

    async def get_any_project(self, feedback_id: str) -> Feedback | None:
        doc = await self.collection.find_one({"_id": feedback_id}, NO_HISTORY)
        return Feedback.from_doc(doc) if doc else None

    async def by_natural(self, natural: dict[str, Any]) -> Feedback | None:
        doc = await self.collection.find_one({**natural, "deleted": False}, NO_HISTORY)
        return Feedback.from_doc(doc) if doc else None

    async def insert(self, doc: dict[str, Any], meta: ChangeMeta) -> Feedback:
        """Insert a new record, its first history entry inside it: one write, sent
        with the other inserts waiting at the time (group commit); raises what
        its own insert raised (DuplicateKeyError on the natural key or the id)."""
        stored = to_stored(doc)
        record = Feedback.from_doc(stored)
        stored["history"] = [meta.entry(None, record.content())]
        stored["rev"] = 0
        await self.inserts.insert_one(stored)
        return record

    async def apply(
        self,
        query: dict[str, Any],
        changes: dict[str, Any],
        meta: ChangeMeta,
        *,
        record_new: bool = True,
        quota: Quota | None = None,
        merge: tuple[str, ...] = (),
    ) -> tuple[Feedback, Feedback] | None:
        """Change the live record matching ``query`` (equality conditions only) and
        append the history entry, in one write. With a ``quota``, the same write
        counts the change against it (RateLimited, and nothing written, when full).
        ``extra`` and the fields in ``merge`` are merged into the stored object,
        key by key, rather than replacing it.

        The record is read first, then written with ``update_one`` on its ``_id``
        and revision: the write lands only on the version it was computed from, so
        the history entry's old values are exactly the ones it replaced. (Not
        grouped with other changes: see group_commit.py.) When another change
        landed in between, the record is read again and the change
        recomputed. (findAndModify would do this in one round trip, but the embedded
        store runs every findAndModify on an existing document as a scan of the
        whole collection; a read and an update by ``_id`` are two point lookups.)

        Returns (before, after), or None when nothing matches."""
        stored = to_stored(changes)
        merged = {name: stored.pop(name) for name in ("extra", *merge) if name in stored}
        for attempt in range(CHANGE_ATTEMPTS):
            if attempt:
                # Overtaken: step aside a moment so the racers spread out.
                await asyncio.sleep(random.uniform(0, 0.001 * attempt))
            doc = await self.collection.find_one(query, NO_HISTORY)
            if doc is None:
                return None
            sets = dict(stored)
            if quota is not None:
                sets.update(quota.take(doc))
            for name, value in merged.items():
                current = doc.get(name)
                if isinstance(value, dict) and isinstance(current, dict):
                    value = {**current, **value}
                sets[name] = value
            before = Feedback.from_doc(doc)
            after = Feedback.from_doc({**doc, **sets})
            entry = meta.entry(before.content(), after.content() if record_new else None)
            result = await self.collection.update_one(
                {"_id": doc["_id"], "rev": doc.get("rev")},
                {
                    "$set": sets,
                    "$inc": {"rev": 1},
                    "$push": {"history": {"$each": [entry], "$slice": -HISTORY_LIMIT}},
                },
            )
            if result.matched_count == 1:
                return before, after
        raise Conflict("this feedback is being changed by many requests at once; retry")

    async def bury(
        self, query: dict[str, Any], *, at: datetime, purge_at: datetime
    ) -> Feedback | None:
        """Delete the live record matching ``query``, leaving its tombstone, in one
        write conditional on the revision read (as :meth:`apply`). Returns the
        record as it was, or None when nothing matches."""
        for attempt in range(CHANGE_ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.001 * attempt))
            doc = await self.collection.find_one(query, NO_HISTORY)
            if doc is None:
                return None
            result = await self.collection.update_one(
                {"_id": doc["_id"], "rev": doc.get("rev")},
                tombstone_update(doc, at=at, purge_at=purge_at),
            )
            if result.matched_count == 1:
                return Feedback.from_doc(doc)
        raise Conflict("this feedback is being changed by many requests at once; retry")

    async def attach_pending(self, project_id: str, run_ids: list[str]) -> list[Feedback]:
        """Mark the project's pending feedback on these runs as attached (their runs
        have arrived); the records this call attached (as they were, still marked
        pending). Both statements use the ``pending_by_run`` index. When another
        call raced this one (it attached some, or more arrived), which are this
        call's cannot be told: none are returned, and a warning says so."""
        query = {
            "project_id": project_id,
            "deleted": False,
            "run_id": {"$in": list(run_ids)},
            "pending": True,
        }
        docs = await self.collection.find(query, NO_HISTORY).to_list()
        if not docs:
            return []
        result = await self.collection.update_many(
            query,
            # A new revision: a change computed while it was pending (an expiry's
            # delete) must not land on it now.
            {"$unset": {"pending": ""}, "$inc": {"rev": 1}},
        )
        if result.modified_count != len(docs):
            log.warning(
                "attaching pending feedback raced another change (%d found, %d attached): "
                "statistics grouped by model, tag or session may need `plaudit rollups rebuild`",
                len(docs),
                result.modified_count,
            )
            return []
        return [Feedback.from_doc(d) for d in docs]

    async def pending_created_before(self, cutoff: datetime, limit: int) -> list[Feedback]:
        """Live pending feedback (any project) created before ``cutoff``, oldest
        first, at most ``limit``."""
        docs = await self.collection.find(
            {"pending": True, "deleted": False, "created_at": {"$lt": cutoff}},
            NO_HISTORY,
            sort=[("created_at", 1)],
            limit=limit,
        ).to_list()
        return [Feedback.from_doc(d) for d in docs]

    async def history(self, project_id: str, feedback_id: str) -> list[HistoryEntry]:
        doc = await self.collection.find_one(
            {"_id": feedback_id, "project_id": project_id}, {"history": 1}
        )
        return [HistoryEntry.from_doc(e) for e in (doc or {}).get("history") or []]

    async def page(
        self, project_id: str, query: FeedbackQuery, first: int | None, after: str | None
    ) -> Page[Feedback]:
        return await self._page(query.to_mongo(project_id), first, after)

    async def for_runs(self, project_id: str, run_ids: list[str]) -> list[Feedback]:
        docs = await self.collection.find(
            {"project_id": project_id, "run_id": {"$in": run_ids}, "deleted": False},
            NO_HISTORY,
            sort=[("created_at", 1)],
        ).to_list()
        return [Feedback.from_doc(d) for d in docs]

    async def stats_for_runs(self, project_id: str, run_ids: list[str]) -> list[KeyStatsRow]:
        """Per (run, key): count, mean, min, max of numeric and boolean scores."""
        pipeline: list[dict[str, Any]] = [
            # Two matches: the first is the shape the (project, deleted, run) index
            # serves on the embedded store too.
            {"$match": {"project_id": project_id, "deleted": False, "run_id": {"$in": run_ids}}},
            {"$match": {"retracted": False}},
            {
                "$group": {
                    "_id": {"run_id": "$run_id", "key": "$key"},
                    "count": {"$sum": 1},
                    "scored": {"$sum": {"$cond": [{"$eq": ["$score", None]}, 0, 1]}},
                    "mean": {"$avg": {"$toDouble": "$score"}},
                    "min": {"$min": {"$toDouble": "$score"}},
                    "max": {"$max": {"$toDouble": "$score"}},
                }
            },
            {"$sort": {"_id.key": 1}},
        ]
        rows = await (await self.collection.aggregate(pipeline)).to_list()
        return [
            KeyStatsRow(
                run_id=row["_id"]["run_id"],
                key=row["_id"]["key"],
                count=row["count"],
                scored=row["scored"],
                mean=row["mean"],
                min=row["min"],
                max=row["max"],
            )
            for row in rows
        ]

    async def run_ids_matching(
        self,
        project_id: str,
        key: str,
        min_score: float | None,
        max_score: float | None,
        limit: int,
    ) -> list[str]:
        query: dict[str, Any] = {
            "project_id": project_id,
            "key": key,
            "deleted": False,
            "retracted": False,
        }
        conditions = number_range("score", min_score, max_score)
        if conditions:
            query["$and"] = conditions
        pipeline: list[dict[str, Any]] = [
            {"$match": query},
            {"$group": {"_id": "$run_id"}},
            {"$limit": limit},
        ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return [d["_id"] for d in docs]

    async def run_ids_scored(
        self, project_id: str, key: str, scores: list[tuple[str, float]], limit: int
    ) -> list[str]:
        """Runs with live feedback on ``key`` whose score meets every ``(op,
        number)`` (op: eq neq gt gte lt lte; a boolean score counts as 1 or 0), at
        most ``limit``."""
        pipeline: list[dict[str, Any]] = [
            # The (project, key, deleted, retracted, created_at) index's shape.
            {"$match": {"project_id": project_id, "key": key, "deleted": False, "retracted": False}}
        ]
        if scores:
            pipeline.append({"$match": {"$and": [_score_condition(op, x) for op, x in scores]}})
        pipeline += [{"$group": {"_id": "$run_id"}}, {"$limit": limit}]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return [d["_id"] for d in docs]

    async def selected(
        self,
        project_id: str,
        *,
        key: str | None = None,
        scores: list[tuple[str, float]] | None = None,
        created_after: datetime | None = None,
        with_correction: bool = False,
        run_ids: list[str] | None = None,
        limit: int,
    ) -> list[Feedback]:
        """Live feedback (not retracted) on ``key``, whose score meets every
        ``(op, number)`` (a boolean counts as 1 or 0), given since a time, with a
        correction: newest first, at most ``limit``."""
        query: dict[str, Any] = {"project_id": project_id, "deleted": False, "retracted": False}
        if key is not None:
            query["key"] = key
        if scores:
            query["$and"] = [_score_condition(op, x) for op, x in scores]
        if created_after is not None:
            query["created_at"] = {"$gte": created_after}
        if with_correction:
            query["correction"] = {"$ne": None}
        if run_ids is not None:
            query["run_id"] = {"$in": run_ids}
        cursor = self.collection.find(query, NO_HISTORY, sort=[("created_at", -1), ("_id", -1)])
        return [Feedback.from_doc(d) for d in await cursor.limit(limit).to_list()]

    async def list_offset(
        self, project_id: str, query: FeedbackQuery, *, offset: int, limit: int
    ) -> list[Feedback]:
        """Newest first, paged by offset (for APIs that page that way: LangSmith's)."""
        cursor = self.collection.find(
            query.to_mongo(project_id), sort=[("created_at", -1), ("_id", -1)]
        )
        docs = await cursor.skip(offset).limit(limit).to_list()
        return [Feedback.from_doc(d) for d in docs]


_HOLDS: dict[str, Callable[[float, float], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _score_condition(op: str, number: float) -> dict[str, Any]:
    """A number score meeting ``op number``, or a boolean one whose 1 or 0 does.
    (A boolean is not a number to MongoDB: ``{score: 1}`` does not match true.)
    Comparisons are written as exclusive ranges and equalities (see ranges.py)."""
    options: list[dict[str, Any]] = []
    if op in ("eq", "gte", "lte"):
        options.append({"score": number})
    if op in ("gt", "gte", "neq"):
        options.append({"score": {"$gt": number}})
    if op in ("lt", "lte", "neq"):
        options.append({"score": {"$lt": number}})
    options += [{"score": flag} for flag in (True, False) if _HOLDS[op](int(flag), number)]
    return {"$or": options}
