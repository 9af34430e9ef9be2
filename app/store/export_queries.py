"""Read-only queries for training-data exports.

Unlike the other store classes this one spans collections: every export joins
something (feedback, preferences, signals, submissions) with its runs, and the join
belongs in the database (``$lookup``) so the export reads one cursor, in batches,
and holds one batch in memory however large the export is.

Every pipeline starts with a ``$match`` on ``project_id`` and every ``$lookup``
matches ``project_id`` too, so nothing crosses projects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store import jsonsafe
from app.store.feedback import Feedback
from app.store.preferences import Preference
from app.store.ranges import time_range
from app.store.runs import Run
from app.store.signals import Signal

BATCH_SIZE = 200


def _lookup(
    collection: str, local: str, foreign: str, match: dict[str, Any], into: str
) -> dict[str, Any]:
    """An equality join (localField/foreignField, which uses the foreign index) with
    further conditions; never a correlated ``$expr`` pipeline, which servers may
    run as a scan of the foreign collection per document."""
    return {
        "$lookup": {
            "from": collection,
            "localField": local,
            "foreignField": foreign,
            "pipeline": [{"$match": match}],
            "as": into,
        }
    }


def _lookup_run(project_id: str, local: str, into: str) -> list[dict[str, Any]]:
    """Join the run whose id is in ``local``, as ``into`` (null when missing)."""
    return [
        _lookup("runs", local, "_id", {"project_id": project_id}, into),
        {"$unwind": {"path": f"${into}", "preserveNullAndEmptyArrays": True}},
    ]


def _since(since: datetime | None) -> dict[str, Any]:
    span = time_range(since)
    return {"created_at": span} if span else {}


def _run(doc: dict[str, Any] | None) -> Run | None:
    return Run.from_doc(doc) if doc else None


@dataclass(frozen=True)
class ScoredRun:
    run_id: str
    mean: float


@dataclass(frozen=True)
class PromptGroup:
    """Runs with the same inputs that got positive and negative feedback on a key."""

    key: str
    inputs: Any
    positive: list[ScoredRun]
    negative: list[ScoredRun]


@dataclass(frozen=True)
class NegativeKey:
    key: str
    mean: float
    comments: list[str]


@dataclass(frozen=True)
class NegativeRun:
    run: Run
    error_mode: Any
    negative: list[NegativeKey]


@dataclass(frozen=True)
class ErrorModeSource:
    """Where a run's error mode is read: a feedback key's value (or score), or a
    field of a feedback task's submissions."""

    feedback_key: str | None = None
    task_id: str | None = None
    field: str | None = None


class ExportQueries:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def _aggregate(
        self, collection: str, pipeline: list[dict[str, Any]], batch_size: int
    ) -> AsyncIterator[dict[str, Any]]:
        cursor = await self.db[collection].aggregate(
            pipeline, batchSize=batch_size, allowDiskUse=True
        )
        async with cursor:
            async for doc in cursor:
                yield doc

    async def count_feedback(self, project_id: str, key: str | None, since: datetime | None) -> int:
        query: dict[str, Any] = {"project_id": project_id, "deleted": False, **_since(since)}
        if key is not None:
            query["key"] = key
        return await self.db["feedback"].count_documents(query)

    async def has_feedback_key(self, project_id: str, key: str) -> bool:
        doc = await self.db["feedback"].find_one(
            {"project_id": project_id, "key": key, "deleted": False}, {"_id": 1}
        )
        return doc is not None

    async def feedback_with_runs(
        self,
        project_id: str,
        key: str | None,
        since: datetime | None,
        *,
        corrections_only: bool = False,
        batch_size: int = BATCH_SIZE,
    ) -> AsyncIterator[tuple[Feedback, Run | None]]:
        """Live feedback records (oldest first), each with its run."""
        match: dict[str, Any] = {"project_id": project_id, "deleted": False, **_since(since)}
        if key is not None:
            match["key"] = key
        if corrections_only:
            match["correction"] = {"$ne": None}
            match["retracted"] = False
        pipeline = [
            {"$match": match},
            {"$sort": {"created_at": 1, "_id": 1}},
            *_lookup_run(project_id, "run_id", "run"),
        ]
        async for doc in self._aggregate("feedback", pipeline, batch_size):
            run = doc.pop("run", None)
            yield Feedback.from_doc(doc), _run(run)

    async def edits_with_runs(
        self, project_id: str, since: datetime | None, *, batch_size: int = BATCH_SIZE
    ) -> AsyncIterator[tuple[Signal, Run | None]]:
        pipeline = [
            {"$match": {"project_id": project_id, "kind": "edit", **_since(since)}},
            {"$sort": {"created_at": 1, "_id": 1}},
            *_lookup_run(project_id, "run_id", "run"),
        ]
        async for doc in self._aggregate("signals", pipeline, batch_size):
            run = doc.pop("run", None)
            yield Signal.from_doc(doc), _run(run)

    async def preferences_with_runs(
        self,
        project_id: str,
        key: str | None,
        since: datetime | None,
        *,
        batch_size: int = BATCH_SIZE,
    ) -> AsyncIterator[tuple[Preference, Run | None, Run | None]]:
        """Preferences that are not ties, oldest first, with both runs."""
        match: dict[str, Any] = {"project_id": project_id, "tied": None, **_since(since)}
        if key is not None:
            match["key"] = key
        pipeline = [
            {"$match": match},
            {"$sort": {"created_at": 1, "_id": 1}},
            *_lookup_run(project_id, "preferred_run_id", "preferred"),
            *_lookup_run(project_id, "other_run_id", "other"),
        ]
        async for doc in self._aggregate("preferences", pipeline, batch_size):
            preferred, other = doc.pop("preferred", None), doc.pop("other", None)
            yield Preference.from_doc(doc), _run(preferred), _run(other)

    def _run_key_polarity(
        self,
        project_id: str,
        key: str | None,
        since: datetime | None,
        polarity: dict[str, Any],
        exclude_key: str | None = None,
    ) -> list[dict[str, Any]]:
        """Stages: live scored feedback -> one row per (run, key) with the mean score
        and its polarity (1, -1; rows with 0 are dropped)."""
        match: dict[str, Any] = {
            "project_id": project_id,
            "deleted": False,
            "retracted": False,
            "score": {"$ne": None},
            **_since(since),
        }
        if key is not None:
            match["key"] = key
        elif exclude_key is not None:
            match["key"] = {"$ne": exclude_key}
        return [
            {"$match": match},
            {
                "$group": {
                    "_id": {"run_id": "$run_id", "key": "$key"},
                    "mean": {"$avg": {"$toDouble": "$score"}},
                    "comments": {"$push": "$comment"},
                }
            },
            {"$addFields": {"polarity": polarity}},
            {"$match": {"polarity": {"$ne": 0}}},
        ]

    async def prompt_groups(
        self,
        project_id: str,
        key: str | None,
        since: datetime | None,
        polarity: dict[str, Any],
        *,
        batch_size: int = BATCH_SIZE,
    ) -> AsyncIterator[PromptGroup]:
        """Per (key, identical inputs): the runs with positive and with negative
        feedback, for groups that have both. ``polarity`` is an aggregation
        expression over ``$mean`` and ``$_id.key`` giving 1, -1 or 0."""
        pipeline = [
            *self._run_key_polarity(project_id, key, since, polarity),
            *_lookup_run(project_id, "_id.run_id", "run"),
            {"$match": {"run.inputs": {"$ne": None}}},
            {
                "$group": {
                    "_id": {"key": "$_id.key", "inputs": "$run.inputs"},
                    "runs": {
                        "$push": {"run_id": "$_id.run_id", "mean": "$mean", "polarity": "$polarity"}
                    },
                    "positive": {"$sum": {"$cond": [{"$eq": ["$polarity", 1]}, 1, 0]}},
                    "negative": {"$sum": {"$cond": [{"$eq": ["$polarity", -1]}, 1, 0]}},
                    "first": {"$min": "$run.start_time"},
                }
            },
            {"$match": {"positive": {"$gte": 1}, "negative": {"$gte": 1}}},
            {"$sort": {"_id.key": 1, "first": 1}},
        ]
        async for doc in self._aggregate("feedback", pipeline, batch_size):
            runs = sorted(doc["runs"], key=lambda r: r["run_id"])
            yield PromptGroup(
                key=doc["_id"]["key"],
                inputs=jsonsafe.unescape(doc["_id"]["inputs"]),
                positive=[ScoredRun(r["run_id"], r["mean"]) for r in runs if r["polarity"] == 1],
                negative=[ScoredRun(r["run_id"], r["mean"]) for r in runs if r["polarity"] == -1],
            )

    async def runs(self, project_id: str, run_ids: list[str]) -> dict[str, Run]:
        docs = (
            await self.db["runs"]
            .find({"project_id": project_id, "_id": {"$in": list(set(run_ids))}})
            .to_list()
        )
        return {d["_id"]: Run.from_doc(d) for d in docs}

    async def negative_runs(
        self,
        project_id: str,
        key: str | None,
        since: datetime | None,
        polarity: dict[str, Any],
        error_mode: ErrorModeSource | None,
        *,
        batch_size: int = BATCH_SIZE,
    ) -> AsyncIterator[NegativeRun]:
        """Runs with negative feedback, once per distinct error mode they have (or
        once with None), ordered by error mode (runs without one last), then by
        start time. The error-mode key labels runs; its own scores are no verdict."""
        label_key = error_mode.feedback_key if error_mode is not None else None
        pipeline = [
            *self._run_key_polarity(project_id, key, since, polarity, exclude_key=label_key),
            {"$match": {"polarity": -1}},
            {
                "$group": {
                    "_id": "$_id.run_id",
                    "negative": {
                        "$push": {"key": "$_id.key", "mean": "$mean", "comments": "$comments"}
                    },
                }
            },
            *self._error_modes(project_id, error_mode),
            {"$unwind": {"path": "$error_mode", "preserveNullAndEmptyArrays": True}},
            *_lookup_run(project_id, "_id", "run"),
            {"$match": {"run": {"$ne": None}}},
            {
                "$addFields": {
                    "no_mode": {
                        "$cond": [{"$eq": [{"$ifNull": ["$error_mode", None]}, None]}, 1, 0]
                    }
                }
            },
            {"$sort": {"no_mode": 1, "error_mode": 1, "run.start_time": 1, "_id": 1}},
        ]
        async for doc in self._aggregate("feedback", pipeline, batch_size):
            negative = [
                NegativeKey(
                    key=n["key"],
                    mean=n["mean"],
                    comments=[c for c in n.get("comments") or [] if c],
                )
                for n in sorted(doc["negative"], key=lambda n: n["key"])
            ]
            yield NegativeRun(
                run=Run.from_doc(doc["run"]),
                error_mode=jsonsafe.unescape(doc.get("error_mode")),
                negative=negative,
            )

    def _error_modes(self, project_id: str, source: ErrorModeSource | None) -> list[dict[str, Any]]:
        """Stages that set ``error_mode`` to the list of a run's distinct modes."""
        if source is None:
            return [{"$addFields": {"error_mode": []}}]
        if source.feedback_key is not None:
            collection = "feedback"
            match: dict[str, Any] = {
                "project_id": project_id,
                "key": source.feedback_key,
                "deleted": False,
                "retracted": False,
            }
            value: Any = {"$ifNull": ["$$m.value", "$$m.score"]}
        else:
            assert source.task_id is not None and source.field is not None
            collection = "task_submissions"
            match = {"project_id": project_id, "task_id": source.task_id}
            value = {
                "$getField": {
                    "field": jsonsafe.escape_field(source.field),
                    "input": "$$m.values",
                }
            }
        return [
            _lookup(collection, "_id", "run_id", match, "modes"),
            {
                "$addFields": {
                    "error_mode": {
                        "$setUnion": [
                            {
                                "$filter": {
                                    "input": {"$map": {"input": "$modes", "as": "m", "in": value}},
                                    "as": "v",
                                    "cond": {"$ne": [{"$ifNull": ["$$v", None]}, None]},
                                }
                            },
                            [],
                        ]
                    }
                }
            },
            {"$project": {"modes": 0}},
        ]
