from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cachetools import LRUCache
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from app.store import jsonsafe
from app.store.pagination import Page
from app.store.queries import find_by_ids, one_of
from app.store.ranges import MS, time_range
from app.store.records import ProjectRecords

JSON_FIELDS = ("inputs", "outputs", "metadata")
# The metadata key a run sent as an OTel span keeps its span id under.
SPAN_ID = "otel.span_id"


@dataclass(frozen=True)
class Run:
    id: str
    project_id: str
    name: str | None
    inputs: Any
    outputs: Any
    tags: list[str]
    metadata: Any
    user_id: str | None
    session_id: str | None
    trace_id: str | None
    parent_run_id: str | None
    model: str | None
    start_time: datetime
    end_time: datetime | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    # The run's place in its trace, as LangSmith writes it: "<start><id>" segments
    # from the trace's root down to the run, joined by dots.
    dotted_order: str | None = None
    # The tracing project (app/store/tracing_projects.py) the run is grouped in.
    tracing_project_id: str | None = None
    # In an experiment: the dataset example the run was made from.
    reference_example_id: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Run:
        return cls(
            id=doc["_id"],
            project_id=doc["project_id"],
            name=doc.get("name"),
            inputs=jsonsafe.unescape(doc.get("inputs")),
            outputs=jsonsafe.unescape(doc.get("outputs")),
            tags=doc.get("tags") or [],
            metadata=jsonsafe.unescape(doc.get("metadata")),
            user_id=doc.get("user_id"),
            session_id=doc.get("session_id"),
            trace_id=doc.get("trace_id"),
            parent_run_id=doc.get("parent_run_id"),
            model=doc.get("model"),
            start_time=doc["start_time"],
            end_time=doc.get("end_time"),
            latency_ms=doc.get("latency_ms"),
            prompt_tokens=doc.get("prompt_tokens"),
            completion_tokens=doc.get("completion_tokens"),
            total_tokens=doc.get("total_tokens"),
            error=doc.get("error"),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            dotted_order=doc.get("dotted_order"),
            tracing_project_id=doc.get("tracing_project_id"),
            reference_example_id=doc.get("reference_example_id"),
        )


@dataclass(frozen=True)
class RunGroupFields:
    """What statistics group a run's feedback by (app/domain/analytics/group_rollups.py)."""

    model: str | None
    tags: tuple[str, ...]
    session_id: str | None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RunGroupFields:
        return cls(doc.get("model"), tuple(doc.get("tags") or ()), doc.get("session_id"))


@dataclass(frozen=True)
class RunAccess:
    """The index a search walks: the project's runs, those whose ``field`` is
    ``value`` (``trace_id``, ``parent_run_id`` (None: the trace roots) or
    ``tracing_project_id``), or the runs with these ids."""

    field: str | None = None
    value: str | None = None
    ids: tuple[str, ...] | None = None


WALKED_FIELDS = ("trace_id", "parent_run_id", "tracing_project_id")
# What a search leaves out of the runs it walks, unless it reads them (the page
# it answers is read again whole).
HEAVY_FIELDS = {"inputs": 0, "outputs": 0}


@dataclass(frozen=True)
class RunSummary:
    """What a tracing project's statistics read of a run."""

    id: str
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    failed: bool


@dataclass
class RunQuery:
    """Filters for listing runs; every given filter must hold."""

    tags: list[str] = field(default_factory=list)
    name: str | None = None
    start_after: datetime | None = None
    start_before: datetime | None = None
    user_id: str | None = None
    session_id: str | None = None
    trace_id: str | None = None
    model: str | None = None
    tracing_project_id: str | None = None
    ids: list[str] | None = None
    parent_run_id: str | None = None
    # True: only runs without a parent (trace roots); False: only runs with one.
    is_root: bool | None = None
    # Runs in any of these traces (with trace_id unset).
    trace_ids: list[str] | None = None

    def to_mongo(self, project_id: str) -> dict[str, Any]:
        query: dict[str, Any] = {"project_id": project_id}
        if self.tags:
            query["tags"] = {"$all": list(self.tags)}
        for name in ("name", "user_id", "session_id", "trace_id", "model", "tracing_project_id"):
            value = getattr(self, name)
            if value is not None:
                query[name] = value
        span = time_range(self.start_after, self.start_before)
        if span:
            query["start_time"] = span
        if self.ids is not None:
            query["_id"] = {"$in": list(self.ids)}
        if self.parent_run_id is not None:
            query["parent_run_id"] = self.parent_run_id
        if self.is_root is not None:
            query.setdefault("$and", []).append(
                {"parent_run_id": None} if self.is_root else {"parent_run_id": {"$ne": None}}
            )
        if self.trace_ids is not None and self.trace_id is None:
            query["trace_id"] = one_of(self.trace_ids)
        return query


class RunStore(ProjectRecords[Run]):
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        super().__init__(db["runs"], Run.from_doc, time_field="start_time")
        # A run id is global (the collection's _id) and a run is never moved, so
        # "run R belongs to project P" stays true until an admin deletes the run or
        # retention removes it (both call forget): remembered, it saves the feedback
        # hot path a read. Only what was found is remembered: a run not there yet may
        # arrive at any moment. Another process may remember a deleted run until its
        # LRU drops it.
        self._owners: LRUCache[str, str] = LRUCache(maxsize=100_000)

    def forget(self, project_id: str, run_ids: list[str]) -> None:
        """Runs deleted: no longer remembered as existing."""
        for run_id in run_ids:
            if self._owners.get(run_id) == project_id:
                self._owners.pop(run_id, None)

    async def owner(self, run_id: str) -> str | None:
        """The project the run belongs to; None when no project has it (yet)."""
        known = self._owners.get(run_id)
        if known is not None:
            return known
        found = await self.collection.find_one({"_id": run_id}, {"project_id": 1})
        if found is None:
            return None
        self._owners[run_id] = found["project_id"]
        return str(found["project_id"])

    async def owners(self, run_ids: list[str]) -> dict[str, str]:
        """The project of each of these runs that some project has."""
        found = {i: self._owners[i] for i in run_ids if i in self._owners}
        missing = list({i for i in run_ids if i not in found})
        if missing:
            docs = await find_by_ids(self.collection, missing, {"project_id": 1})
            for doc in docs:
                self._owners[doc["_id"]] = found[doc["_id"]] = doc["project_id"]
        return found

    async def upsert_many(
        self, project_id: str, runs: list[tuple[str, dict[str, Any], dict[str, Any]]]
    ) -> tuple[list[Run], list[int]]:
        """Upsert ``(run id, fields to set, fields to set on insert only)``: the runs
        as stored, and the positions of those not written because their id is
        another project's.

        Fields not given are left as stored, so a run can be created at its start and
        completed later."""
        ops = []
        for run_id, fields, on_insert in runs:
            stored = {k: jsonsafe.escape(v) if k in JSON_FIELDS else v for k, v in fields.items()}
            ops.append(
                UpdateOne(
                    {"_id": run_id, "project_id": project_id},
                    {"$set": stored, "$setOnInsert": on_insert},
                    upsert=True,
                )
            )
        taken: list[int] = []
        try:
            await self.collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != 11000 for error in errors):
                raise
            taken = sorted(error["index"] for error in errors)
        skipped = set(taken)
        written = await self.get_many(
            project_id, [run[0] for position, run in enumerate(runs) if position not in skipped]
        )
        for run in written:
            self._owners[run.id] = project_id
        return written, taken

    async def get_many(self, project_id: str, run_ids: list[str]) -> list[Run]:
        # By _id alone, the project checked here: the shape the embedded store
        # plans on the _id index (with project_id beside the $in, it scans).
        docs = await find_by_ids(self.collection, run_ids)
        by_id = {d["_id"]: Run.from_doc(d) for d in docs if d["project_id"] == project_id}
        return [by_id[i] for i in run_ids if i in by_id]

    async def group_fields(self, project_id: str, run_ids: list[str]) -> dict[str, RunGroupFields]:
        """Model, tags and session of those of these runs the project has."""
        docs = await find_by_ids(
            self.collection, run_ids, {"project_id": 1, "model": 1, "tags": 1, "session_id": 1}
        )
        return {d["_id"]: RunGroupFields.from_doc(d) for d in docs if d["project_id"] == project_id}

    async def tracing_projects_of(self, project_id: str, run_ids: list[str]) -> dict[str, str]:
        """Each run's tracing project, for those of these runs that exist."""
        docs = await find_by_ids(
            self.collection, run_ids, {"project_id": 1, "tracing_project_id": 1}
        )
        return {
            d["_id"]: d["tracing_project_id"]
            for d in docs
            if d["project_id"] == project_id and d.get("tracing_project_id")
        }

    async def existing_ids(self, project_id: str, run_ids: list[str]) -> set[str]:
        docs = await find_by_ids(self.collection, run_ids, {"project_id": 1})
        return {d["_id"] for d in docs if d["project_id"] == project_id}

    async def page(
        self, project_id: str, query: RunQuery, first: int | None, after: str | None
    ) -> Page[Run]:
        return await self._page(query.to_mongo(project_id), first, after)

    # ---- Langfuse's reads (app/compat/langfuse)

    async def list_newest(
        self, project_id: str, query: RunQuery, *, limit: int, heavy: bool = True
    ) -> list[Run]:
        """The first ``limit`` runs of a query whose filters are an index's leading
        fields (a trace, traces), newest first. Without ``heavy``, inputs and
        outputs read as None."""
        cursor = self.collection.find(
            query.to_mongo(project_id),
            None if heavy else HEAVY_FIELDS,
            sort=[("start_time", -1), ("_id", -1)],
        )
        return [Run.from_doc(d) for d in await cursor.limit(limit).to_list()]

    async def with_span_id(self, project_id: str, span_id: str) -> list[Run]:
        """The runs sent as a span with this OTel span id (``otel.span_id`` in their
        metadata, app/compat/otlp/mapping.py): one, but for a chance collision of
        span ids in two traces."""
        query = {"project_id": project_id, f"metadata.{jsonsafe.escape_field(SPAN_ID)}": span_id}
        return [Run.from_doc(d) for d in await self.collection.find(query).limit(10).to_list()]

    async def in_session(self, project_id: str, session_id: str, limit: int) -> list[Run]:
        """The session's newest ``limit`` runs, newest first (inputs and outputs read as None)."""
        cursor = self.collection.find(
            {"project_id": project_id, "session_id": session_id},
            HEAVY_FIELDS,
            sort=[("start_time", -1)],
        )
        return [Run.from_doc(d) for d in await cursor.limit(limit).to_list()]

    async def session_start(self, project_id: str, session_id: str) -> datetime | None:
        """When the session's first run started (None: it has none)."""
        doc = await self.collection.find_one(
            {"project_id": project_id, "session_id": session_id},
            {"start_time": 1},
            sort=[("start_time", 1)],
        )
        return doc["start_time"] if doc else None

    # ---- Tracing projects (app/domain/tracing_projects.py)

    def _in_tracing_project(self, project_id: str, tracing_project_id: str) -> dict[str, Any]:
        return {"project_id": project_id, "tracing_project_id": tracing_project_id}

    async def count_in_tracing_project(self, project_id: str, tracing_project_id: str) -> int:
        return await self.collection.count_documents(
            self._in_tracing_project(project_id, tracing_project_id)
        )

    async def last_start_in_tracing_project(
        self, project_id: str, tracing_project_id: str
    ) -> datetime | None:
        doc = await self.collection.find_one(
            self._in_tracing_project(project_id, tracing_project_id),
            {"start_time": 1},
            sort=[("start_time", -1), ("_id", -1)],
        )
        return doc["start_time"] if doc else None

    async def with_examples_in_tracing_project(
        self, project_id: str, tracing_project_id: str, limit: int
    ) -> list[Run]:
        """An experiment's runs: those of the tracing project that point to a dataset
        example (the target's root runs), oldest first, at most ``limit``."""
        cursor = self.collection.find(
            {**self._in_tracing_project(project_id, tracing_project_id),
             "reference_example_id": {"$ne": None}},
            sort=[("start_time", 1), ("_id", 1)],
        )  # fmt: skip
        return [Run.from_doc(d) for d in await cursor.limit(limit).to_list()]

    async def summaries_in_tracing_project(
        self, project_id: str, tracing_project_id: str
    ) -> list[RunSummary]:
        pipeline: list[dict[str, Any]] = [
            {"$match": self._in_tracing_project(project_id, tracing_project_id)},
            {
                "$project": {
                    "latency_ms": 1,
                    "prompt_tokens": 1,
                    "completion_tokens": 1,
                    "total_tokens": 1,
                    # Not the error itself: a traceback can be 10,000 characters.
                    "failed": {"$ne": [{"$ifNull": ["$error", None]}, None]},
                }
            },
        ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return [
            RunSummary(
                id=d["_id"],
                latency_ms=d.get("latency_ms"),
                prompt_tokens=d.get("prompt_tokens"),
                completion_tokens=d.get("completion_tokens"),
                total_tokens=d.get("total_tokens"),
                failed=bool(d.get("failed")),
            )
            for d in docs
        ]

    async def without_tracing_project(
        self, project_id: str, chunk: int
    ) -> AsyncIterator[list[tuple[str, str | None]]]:
        """Runs of earlier versions, which had no tracing project: ``(id, the
        LangSmith project name kept in the metadata)``, ``chunk`` at a time."""
        cursor = self.collection.find(
            {"project_id": project_id, "tracing_project_id": None},
            {"metadata.ls_session_name": 1},
            batch_size=chunk,
        )
        found: list[tuple[str, str | None]] = []
        async for doc in cursor:
            metadata = doc.get("metadata")
            name = metadata.get("ls_session_name") if isinstance(metadata, dict) else None
            found.append((doc["_id"], name if isinstance(name, str) and name.strip() else None))
            if len(found) == chunk:
                yield found
                found = []
        if found:
            yield found

    async def assign_tracing_project(
        self, run_ids: list[str], tracing_project_id: str, *, forget_session_name: bool = False
    ) -> None:
        update: dict[str, Any] = {"$set": {"tracing_project_id": tracing_project_id}}
        if forget_session_name:
            update["$unset"] = {"metadata.ls_session_name": ""}
        await self.collection.update_many({"_id": {"$in": run_ids}}, update)

    # ---- Searches (app/domain/run_search.py): every read is on an index whose
    # fields are the filter's equality fields followed by start_time and _id.

    async def walk(
        self,
        project_id: str,
        access: RunAccess,
        *,
        since: datetime | None,
        until: datetime | None,
        after: tuple[datetime, str] | None,
        oldest_first: bool,
        size: int,
        heavy: bool,
    ) -> list[Run]:
        """Up to ``size`` runs in (start_time, _id) order after ``after``, with
        ``since <= start_time < until``. Without ``heavy``, inputs and outputs
        read as None."""
        assert access.ids is None and (access.field is None or access.field in WALKED_FIELDS)
        base: dict[str, Any] = {"project_id": project_id}
        if access.field is not None:
            base[access.field] = access.value
        projection = None if heavy else HEAVY_FIELDS
        direction = 1 if oldest_first else -1
        found: list[dict[str, Any]] = []
        if after is not None:
            at, last_id = after
            # Runs starting in the same millisecond as the last one, past its id.
            ties = {**base, "start_time": at, "_id": {"$gt" if oldest_first else "$lt": last_id}}
            cursor = self.collection.find(ties, projection, sort=[("_id", direction)])
            found = await cursor.limit(size).to_list()
            if oldest_first:
                since = max(since, at + MS) if since is not None else at + MS
            else:
                until = min(until, at) if until is not None else at
        if len(found) < size:
            query = dict(base)
            span = time_range(since, until)
            if span:
                query["start_time"] = span
            cursor = self.collection.find(
                query, projection, sort=[("start_time", direction), ("_id", direction)]
            )
            found += await cursor.limit(size - len(found)).to_list()
        return [Run.from_doc(d) for d in found]

    async def with_ids(self, project_id: str, run_ids: list[str], *, heavy: bool) -> list[Run]:
        """These runs (of this project), in no particular order."""
        docs = await find_by_ids(self.collection, run_ids, None if heavy else HEAVY_FIELDS)
        return [Run.from_doc(d) for d in docs if d["project_id"] == project_id]

    async def same_input_groups(
        self, project_id: str, tags: list[str], skip: int, limit: int, per_group: int
    ) -> list[list[str]]:
        """Run ids grouped by identical (non-null) inputs, for pairwise review: the
        groups with two or more runs, ordered by their oldest run; in each, at most
        ``per_group`` run ids, oldest first. ``tags``: runs carrying all of them."""
        match: dict[str, Any] = {"project_id": project_id, "inputs": {"$ne": None}}
        if tags:
            match["tags"] = {"$all": list(tags)}
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {"$sort": {"start_time": 1, "_id": 1}},
            {
                "$group": {
                    "_id": "$inputs",
                    "runs": {"$push": "$_id"},
                    "first": {"$first": "$start_time"},
                    "lead": {"$first": "$_id"},
                }
            },
            {"$match": {"runs.1": {"$exists": True}}},
            {"$sort": {"first": 1, "lead": 1}},
            {"$skip": skip},
            {"$limit": limit},
            {"$project": {"_id": 0, "runs": {"$slice": ["$runs", per_group]}}},
        ]
        docs = await (await self.collection.aggregate(pipeline)).to_list()
        return [list(d["runs"]) for d in docs]
