"""Read-only aggregations over feedback for statistics (app/domain/analytics/).

A separate class from FeedbackStore (same ``feedback`` collection) so that the
analytics pipelines live together. Every pipeline starts with a ``$match`` on
exactly the fields of an index, ``(project_id, key, deleted, retracted,
created_at)`` for one key or ``(project_id, deleted, retracted, created_at)`` for
several or all, and filters on anything else in a second ``$match``: MongoDB
merges the two, and the embedded store (which uses an index only when every field
of a filter is in it, and not for ``$in``) still uses the index. Runs are joined
(by ``_id``) only when a filter or grouping needs their tags, model, session or
metadata.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app import clock
from app.errors import BadRequest
from app.store import jsonsafe
from app.store.feedback import Feedback
from app.store.ranges import time_range
from app.store.score_bins import key_from_parts, mongo_bin, mongo_number
from app.store.score_sums import ScoreSums, sums_from_doc

# Dimensions a statistic can be grouped by; the run's fields need a join.
DIMENSIONS = ("key", "time", "user", "session", "model", "tag", "source", "metadata")
RUN_DIMENSIONS = ("session", "model", "tag", "metadata")
TIME_UNITS = ("hour", "day", "week")
MAX_ROWS = 200_000
# How far back the newest comments are looked for, span after span (None: all).
# Fine steps: the embedded store sorts everything a span matches in memory, so a
# key whose last hour had no comment paid for sorting a whole day of records
# (330 ms at 1M records); each step is one more indexed round trip instead.
COMMENT_LOOKBACK = (
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=7),
    timedelta(days=31),
    timedelta(days=366),
    None,
)
# Records may carry their change history inside them: never read it here.
NO_HISTORY = {"history": 0}


class TooManyGroups(BadRequest):
    pass


@dataclass(frozen=True)
class Dimension:
    kind: str  # one of DIMENSIONS
    unit: str | None = None  # time: hour | day | week
    field: str | None = None  # metadata: a dotted path into the run's metadata


@dataclass
class StatsFilter:
    """Which live (not deleted, not retracted) feedback to count; all must hold."""

    keys: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    run_ids: list[str] | None = None
    user_ids: list[str] | None = None
    source_types: list[str] | None = None
    tags: list[str] | None = None  # the run carries all of them
    models: list[str] | None = None
    session_ids: list[str] | None = None
    metadata: list[tuple[str, Any]] = field(default_factory=list)  # run metadata path == value

    def needs_runs(self) -> bool:
        return bool(self.tags or self.models or self.session_ids or self.metadata)

    def only_keys_and_time(self) -> bool:
        return not (
            self.needs_runs() or self.run_ids or self.user_ids or self.source_types is not None
        )


@dataclass(frozen=True, kw_only=True)
class StatsRow(ScoreSums):
    """One aggregation row: a key, the group's dimension values, and (when asked
    for) one histogram bin, with their sums."""

    key: str
    dims: tuple[Any, ...]
    bin: str | None


@dataclass(frozen=True)
class Extremes:
    start: datetime
    min_score: float
    max_score: float


@dataclass(frozen=True)
class RunTally:
    run_id: str
    negative: int
    positive: int
    scored: int
    last_at: datetime


@dataclass(frozen=True)
class ScoreRow:
    """What a rollup needs from one feedback record (rebuilds stream these)."""

    key: str
    score: float | bool | None
    commented: bool
    created_at: datetime
    run_id: str
    # What its groups are read from (app/domain/analytics/group_rollups.py).
    pending: bool = False  # its run not arrived: grouped as having no run
    user_id: str | None = None
    source_type: str | None = None


def metadata_path(path: str) -> str:
    parts = path.split(".")
    if not path or len(path) > 200 or any(not p for p in parts):
        raise BadRequest(f"invalid metadata field {path!r}: use dotted names, e.g. 'a.b'")
    return "run.metadata." + ".".join(jsonsafe.escape_field(p) for p in parts)


def _time_expr(unit: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"date": "$created_at", "unit": unit}
    if unit == "week":
        spec["startOfWeek"] = "monday"
    return {"$dateTrunc": spec}


def _dimension_expr(dim: Dimension) -> Any:
    if dim.kind == "time":
        return _time_expr(dim.unit or "day")
    if dim.kind == "metadata":
        return "$" + metadata_path(dim.field or "")
    return {
        "key": "$key",
        "user": "$user_id",
        "session": "$run.session_id",
        "model": "$run.model",
        "tag": "$run.tags",
        "source": "$source_type",
    }[dim.kind]


def _comment_expr() -> dict[str, Any]:
    return {
        "$cond": [
            {"$and": [{"$eq": [{"$type": "$comment"}, "string"]}, {"$ne": ["$comment", ""]}]},
            1,
            0,
        ]
    }


def _side_exprs(thresholds: dict[str, float | None], default: float) -> tuple[Any, Any]:
    """(above, below): 0/1 expressions comparing each record's score with its key's
    threshold; boolean true is above and false below. A key whose threshold is None
    (freeform) has numbers on neither side."""
    numbered = {k: t for k, t in thresholds.items() if t is not None}
    neutral = sorted(k for k, t in thresholds.items() if t is None)
    limit: Any = default
    if numbered:
        branches: list[dict[str, Any]] = [
            {"case": {"$eq": ["$key", k]}, "then": t} for k, t in numbered.items()
        ]
        limit = {"$switch": {"branches": branches, "default": default}}
    is_bool = {"$eq": [{"$type": "$score"}, "bool"]}
    is_number: dict[str, Any] = {"$isNumber": "$score"}
    if neutral:
        is_number = {"$and": [is_number, {"$not": [{"$in": ["$key", neutral]}]}]}

    def side(compare: str, when_true: int) -> Any:
        return {
            "$cond": [
                is_bool,
                {"$cond": ["$score", when_true, 1 - when_true]},
                {"$cond": [{"$and": [is_number, {compare: ["$score", limit]}]}, 1, 0]},
            ]
        }

    return side("$gt", 1), side("$lt", 0)


def _live(
    project_id: str, key: str | None, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """Live records of a project (or key) created in ``[since, until)``, in the
    shape of the analytics indexes."""
    query: dict[str, Any] = {"project_id": project_id}
    if key is not None:
        query["key"] = key
    query.update({"deleted": False, "retracted": False})
    span = time_range(since, until)
    if span:
        query["created_at"] = span
    return query


class FeedbackAnalyticsStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db["feedback"]

    # -- building blocks ---------------------------------------------------------

    def _matches(
        self, project_id: str, f: StatsFilter, extra: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """``$match`` stages: the indexed fields first, then the rest (and ``extra``)."""
        indexed: dict[str, Any] = {"project_id": project_id}
        rest: dict[str, Any] = dict(extra or {})
        if f.keys is not None and len(f.keys) == 1:
            indexed["key"] = f.keys[0]
        elif f.keys is not None:
            rest["key"] = {"$in": list(f.keys)}
        indexed["deleted"] = False
        indexed["retracted"] = False
        span = time_range(f.since, f.until)
        if span:
            indexed["created_at"] = span
        for name, stored in (
            ("run_ids", "run_id"),
            ("user_ids", "user_id"),
            ("source_types", "source_type"),
        ):
            values = getattr(f, name)
            if values is not None:
                rest[stored] = {"$in": list(values)}
        stages: list[dict[str, Any]] = [{"$match": indexed}]
        if rest:
            stages.append({"$match": rest})
        return stages

    def _stages(
        self, project_id: str, f: StatsFilter, dims: list[Dimension]
    ) -> list[dict[str, Any]]:
        stages = self._matches(project_id, f)
        if f.needs_runs() or any(d.kind in RUN_DIMENSIONS for d in dims):
            stages += [
                {
                    "$lookup": {
                        "from": "runs",
                        "localField": "run_id",
                        "foreignField": "_id",
                        "pipeline": [
                            {"$match": {"project_id": project_id}},
                            {"$project": {"tags": 1, "model": 1, "session_id": 1, "metadata": 1}},
                        ],
                        "as": "run",
                    }
                },
                {"$unwind": {"path": "$run", "preserveNullAndEmptyArrays": True}},
            ]
            run_match: dict[str, Any] = {}
            if f.tags:
                run_match["run.tags"] = {"$all": list(f.tags)}
            if f.models:
                run_match["run.model"] = {"$in": list(f.models)}
            if f.session_ids:
                run_match["run.session_id"] = {"$in": list(f.session_ids)}
            for path, value in f.metadata:
                run_match[metadata_path(path)] = jsonsafe.escape(value)
            if run_match:
                stages.append({"$match": run_match})
            if any(d.kind == "tag" for d in dims):
                stages.append(
                    {"$unwind": {"path": "$run.tags", "preserveNullAndEmptyArrays": True}}
                )
        return stages

    # -- statistics --------------------------------------------------------------

    async def stats_rows(
        self,
        project_id: str,
        f: StatsFilter,
        dims: list[Dimension],
        thresholds: dict[str, float | None],
        *,
        default_threshold: float,
        with_hist: bool,
    ) -> list[StatsRow]:
        """Per key and group (and bin, ``with_hist``): the sums statistics need."""
        above, below = _side_exprs(thresholds, default_threshold)
        project: dict[str, Any] = {
            "key": 1,
            "v": mongo_number(),
            "isb": {"$eq": [{"$type": "$score"}, "bool"]},
            "cm": _comment_expr(),
            "above": above,
            "below": below,
        }
        group_id: dict[str, Any] = {"k": "$key"}
        for i, dim in enumerate(dims):
            project[f"d{i}"] = _dimension_expr(dim)
            group_id[f"d{i}"] = f"$d{i}"
        pipeline = self._stages(project_id, f, dims)
        pipeline.append({"$project": project})
        if with_hist:
            pipeline.append({"$addFields": mongo_bin("$v")})
            group_id.update({"bx": "$bx", "bl": "$bl", "bneg": "$bneg"})
        pipeline += [
            {
                "$group": {
                    "_id": group_id,
                    "c": {"$sum": 1},
                    "n": {"$sum": {"$cond": [{"$ne": ["$v", None]}, 1, 0]}},
                    "s": {"$sum": "$v"},
                    "q": {"$sum": {"$multiply": ["$v", "$v"]}},
                    "mn": {"$min": "$v"},
                    "mx": {"$max": "$v"},
                    "hi": {"$sum": "$above"},
                    "lo": {"$sum": "$below"},
                    "bt": {"$sum": {"$cond": [{"$and": ["$isb", {"$eq": ["$v", 1]}]}, 1, 0]}},
                    "bf": {"$sum": {"$cond": [{"$and": ["$isb", {"$eq": ["$v", 0]}]}, 1, 0]}},
                    "cm": {"$sum": "$cm"},
                }
            },
            {"$limit": MAX_ROWS + 1},
        ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        if len(docs) > MAX_ROWS:
            raise TooManyGroups(
                "these statistics have too many groups; narrow the filter or the time window"
            )
        rows = []
        for doc in docs:
            gid = doc["_id"]
            rows.append(
                StatsRow(
                    key=gid["k"],
                    dims=tuple(gid.get(f"d{i}") for i in range(len(dims))),
                    bin=key_from_parts(gid.get("bx"), gid.get("bl"), gid.get("bneg"))
                    if with_hist
                    else None,
                    **sums_from_doc(doc),
                )
            )
        return rows

    async def extremes(
        self, project_id: str, key: str, unit: str, since: datetime, until: datetime
    ) -> dict[datetime, Extremes]:
        """Exact min and max score per bucket (buckets with no score are absent)."""
        pipeline = self._matches(
            project_id,
            StatsFilter(keys=[key], since=since, until=until),
            {"score": {"$ne": None}},
        )
        pipeline += [
            {"$project": {"t": _time_expr(unit), "v": mongo_number()}},
            {"$group": {"_id": "$t", "mn": {"$min": "$v"}, "mx": {"$max": "$v"}}},
        ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return {d["_id"]: Extremes(d["_id"], d["mn"], d["mx"]) for d in docs}

    # -- comments ----------------------------------------------------------------

    async def recent_comments(
        self, project_id: str, f: StatsFilter, dims: list[Dimension], per_group: int
    ) -> dict[tuple[Any, ...], list[Feedback]]:
        """The newest ``per_group`` commented records of each group."""
        if not dims and not f.needs_runs():
            return {(): await self._newest_comments(project_id, f, per_group)}
        pipeline = self._stages(project_id, f, dims)
        pipeline.append({"$match": {"comment": {"$nin": [None, ""]}}})
        group_id = {f"d{i}": _dimension_expr(dim) for i, dim in enumerate(dims)}
        pipeline += [
            {"$sort": {"created_at": -1, "_id": -1}},
            # The group is computed while the joined run is still there.
            {"$addFields": {"_group": group_id}},
            {"$project": {"run": 0, **NO_HISTORY}},
            {
                "$group": {
                    "_id": "$_group",
                    "docs": {"$firstN": {"input": "$$ROOT", "n": per_group}},
                }
            },
            {"$limit": MAX_ROWS},
        ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return {
            tuple(d["_id"].get(f"d{i}") for i in range(len(dims))): [
                Feedback.from_doc(x) for x in d["docs"]
            ]
            for d in docs
        }

    async def _newest_comments(self, project_id: str, f: StatsFilter, n: int) -> list[Feedback]:
        """The newest ``n`` commented records, looking back over growing spans so
        that the index answers without sorting a long window."""
        until = f.until or clock.now() + timedelta(seconds=1)
        found: list[Feedback] = []
        span_end = until
        for back in COMMENT_LOOKBACK:
            span_start = until - back if back is not None else None
            if f.since is not None and (span_start is None or span_start < f.since):
                span_start = f.since
            window = replace(f, since=span_start, until=span_end)
            pipeline = self._matches(project_id, window, {"comment": {"$nin": [None, ""]}})
            pipeline += [
                {"$sort": {"created_at": -1, "_id": -1}},
                {"$limit": n - len(found)},
                {"$project": NO_HISTORY},
            ]
            docs = await (await self.collection.aggregate(pipeline)).to_list()
            found += [Feedback.from_doc(d) for d in docs]
            if len(found) >= n or span_start is None or span_start == f.since:
                break
            span_end = span_start
        return found

    # -- worst runs --------------------------------------------------------------

    async def run_tallies(
        self,
        project_id: str,
        f: StatsFilter,
        thresholds: dict[str, float | None],
        negative_is_below: dict[str, bool],
        first: int | None,
        *,
        default_threshold: float,
    ) -> list[RunTally]:
        """Runs with the most negative feedback: negative means below the threshold
        for keys where higher is better (``negative_is_below``), above otherwise.
        With ``first`` None: every run with a score, in no order (worst runs merge
        these with the runs' tallies, app/domain/analytics/tally_reads.py)."""
        above, below = _side_exprs(thresholds, default_threshold)

        def side(which: str) -> Any:
            flipped = [k for k, is_below in negative_is_below.items() if not is_below]
            normal, reverse = (below, above) if which == "neg" else (above, below)
            if not flipped:
                return normal
            return {"$cond": [{"$in": ["$key", flipped]}, reverse, normal]}

        pipeline: list[dict[str, Any]] = [
            *self._matches(project_id, f, {"score": {"$ne": None}}),
            {"$project": {"run_id": 1, "created_at": 1, "neg": side("neg"), "pos": side("pos")}},
            {
                "$group": {
                    "_id": "$run_id",
                    "neg": {"$sum": "$neg"},
                    "pos": {"$sum": "$pos"},
                    "n": {"$sum": 1},
                    "last": {"$max": "$created_at"},
                }
            },
        ]
        if first is not None:
            pipeline += [
                {"$match": {"neg": {"$gt": 0}}},
                {"$sort": {"neg": -1, "last": -1, "_id": 1}},
                {"$limit": first},
            ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return [RunTally(d["_id"], d["neg"], d["pos"], d["n"], d["last"]) for d in docs]

    async def commented_for_runs(
        self, project_id: str, run_ids: list[str], keys: list[str] | None, per_run: int
    ) -> dict[str, list[Feedback]]:
        """The newest live comments on each run (one indexed query per run)."""

        async def one(run_id: str) -> list[Feedback]:
            docs = await self.collection.find(
                {"project_id": project_id, "deleted": False, "run_id": run_id}, NO_HISTORY
            ).to_list()
            records = [
                Feedback.from_doc(d)
                for d in docs
                if not d.get("retracted")
                and isinstance(d.get("comment"), str)
                and d["comment"]
                and (keys is None or d["key"] in keys)
            ]
            records.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            return records[:per_run]

        found = await asyncio.gather(*(one(r) for r in run_ids))
        return {r: records for r, records in zip(run_ids, found, strict=True) if records}

    async def scores_of_runs(
        self, project_id: str, keys: list[str], run_ids: list[str]
    ) -> list[ScoreRow]:
        """The live scores of some runs on some keys (one query per run and key,
        through the natural key's index): worst runs recount a run whose newest
        times a removal left stale."""

        async def one(run_id: str, key: str) -> list[dict[str, Any]]:
            query = {"project_id": project_id, "run_id": run_id, "key": key, "deleted": False}
            fields = {"score": 1, "created_at": 1, "retracted": 1}
            return await self.collection.find(query, fields).to_list()

        pairs = [(r, k) for r in run_ids for k in keys]
        found = await asyncio.gather(*(one(r, k) for r, k in pairs))
        return [
            ScoreRow(key=k, score=d["score"], commented=False, created_at=d["created_at"], run_id=r)
            for (r, k), docs in zip(pairs, found, strict=True)
            for d in docs
            if not d.get("retracted") and d.get("score") is not None
        ]

    # -- rebuilds ----------------------------------------------------------------

    async def first_live_at(
        self, project_id: str, key: str | None, since: datetime | None = None
    ) -> datetime | None:
        """When the oldest live record (from ``since`` on) was created."""
        query = _live(project_id, key, since, None)
        doc = await self.collection.find_one(query, {"created_at": 1}, sort=[("created_at", 1)])
        return None if doc is None else doc["created_at"]

    async def live_scores(
        self,
        project_id: str,
        key: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AsyncIterator[ScoreRow]:
        query = _live(project_id, key, since, until)
        fields = ("key", "score", "comment", "created_at", "run_id", "user_id", "source_type")
        cursor = self.collection.find(
            query, {**dict.fromkeys(fields, 1), "pending": 1}, batch_size=5000
        )
        async for doc in cursor:
            comment = doc.get("comment")
            yield ScoreRow(
                key=doc["key"],
                score=doc.get("score"),
                commented=isinstance(comment, str) and comment != "",
                created_at=doc["created_at"],
                run_id=doc["run_id"],
                pending=bool(doc.get("pending")),
                user_id=doc.get("user_id"),
                source_type=doc.get("source_type", "api"),
            )
