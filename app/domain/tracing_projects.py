"""Tracing projects: named groups of runs inside a Plaudit project.

They are LangSmith's "projects" (its API says "sessions"): a run names one by
``session_name`` or ``session_id`` and a tracing project that does not exist yet
is created then. A run that names none goes to the one called ``default``, as in
LangSmith. The name is not Plaudit's project (which the API key decides) nor a
user's conversation (a run's ``sessionId``).

Deleting a tracing project that still has runs is refused: Plaudit never deletes
runs (feedback, tasks and statistics refer to them)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import clock
from app.domain import validation as v
from app.errors import BadRequest, Conflict, NotFound, PlauditError
from app.store import Stores
from app.store.tracing_projects import TracingProject

log = logging.getLogger("plaudit.tracing_projects")

DEFAULT_NAME = "default"
# Statistics beyond counting are computed when asked, over every run: only for
# tracing projects up to this many runs.
STATS_MAX_RUNS = 10_000
# Runs read per round trip when computing statistics and migrating.
CHUNK = 1_000


@dataclass(frozen=True)
class TracingProjectRef:
    """How a run names its tracing project: by id, by name, or both."""

    name: str | None = None
    id: str | None = None


def check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadRequest(f"{field} must be a non-empty string", field=field)
    checked = v.check_text(name, field)
    assert checked is not None
    return checked


def check_ref(name: Any, tracing_project_id: Any) -> TracingProjectRef | None:
    ref = TracingProjectRef(
        name=check_name(name, "session_name") if name is not None else None,
        id=v.check_uuid(tracing_project_id, "session_id") if tracing_project_id else None,
    )
    return ref if ref.name or ref.id else None


async def resolve(
    stores: Stores, project_id: str, refs: list[TracingProjectRef | None], now: datetime
) -> tuple[list[str | PlauditError | None], str | None]:
    """For each ref, the tracing project's id (created when new), or why it cannot
    be had (an id of another Plaudit project's), or None when the run names none;
    and the id of ``default``, where runs that name none go when they are new
    (None when every run names one).

    A known id wins; else the name decides; an unknown id without a name creates a
    tracing project with that id, named by it."""
    ids = [r.id for r in refs if r is not None and r.id]
    owners = await stores.tracing_projects.owners(ids) if ids else {}
    # "default" only when a run may go there.
    names = {DEFAULT_NAME} if None in refs else set()
    for ref in refs:
        if ref is not None and ref.name and not _known(ref, owners, project_id):
            names.add(ref.name)
    by_name = await stores.tracing_projects.ensure_names(project_id, sorted(names), now)
    resolved: list[str | PlauditError | None] = []
    for ref in refs:
        if ref is None:
            resolved.append(None)
        elif _known(ref, owners, project_id):
            assert ref.id is not None
            resolved.append(ref.id)
        elif ref.id and ref.id in owners:
            resolved.append(Conflict(f"session_id {ref.id} is another project's"))
        elif ref.name:
            resolved.append(by_name[ref.name].id)
        else:
            assert ref.id is not None
            try:
                created = await _ensure_id(stores, project_id, ref.id, now)
                owners[created.id] = created
                resolved.append(created.id)
            except PlauditError as exc:
                resolved.append(exc)
    return resolved, by_name[DEFAULT_NAME].id if DEFAULT_NAME in by_name else None


def _known(ref: TracingProjectRef, owners: dict[str, TracingProject], project_id: str) -> bool:
    return bool(ref.id) and ref.id in owners and owners[ref.id].project_id == project_id


async def _ensure_id(
    stores: Stores, project_id: str, tracing_project_id: str, now: datetime
) -> TracingProject:
    try:
        return await stores.tracing_projects.create(
            project_id, tracing_project_id, now, tracing_project_id=tracing_project_id
        )
    except Conflict:
        # Created by a request running alongside this one?
        found = await stores.tracing_projects.get(project_id, tracing_project_id)
        if found is None:
            raise
        return found


async def get(stores: Stores, project_id: str, tracing_project_id: str) -> TracingProject:
    found = await stores.tracing_projects.get(project_id, tracing_project_id)
    if found is None:
        raise NotFound(f"tracing project {tracing_project_id} not found")
    return found


async def create(
    stores: Stores,
    project_id: str,
    name: Any,
    *,
    tracing_project_id: str | None = None,
    description: str | None = None,
    extra: Any = None,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    upsert: bool = False,
    reference_dataset_id: str | None = None,
) -> TracingProject:
    """A new tracing project. With ``upsert``, an existing one of that name is
    updated with what is given instead (LangSmith's ``?upsert=true``). With a
    ``reference_dataset_id`` (a dataset of the same project) it is an experiment."""
    name = check_name(name)
    _check_details(description, extra)
    if reference_dataset_id is not None:
        dataset = await stores.datasets.get(
            project_id, v.check_uuid(reference_dataset_id, "reference_dataset_id")
        )
        if dataset is None:
            raise NotFound(
                f"dataset {reference_dataset_id} not found", field="reference_dataset_id"
            )
        reference_dataset_id = dataset.id
    now = clock.now()
    try:
        return await stores.tracing_projects.create(
            project_id,
            name,
            now,
            tracing_project_id=tracing_project_id,
            description=description,
            extra=extra,
            start_time=start_time,
            end_time=end_time,
            reference_dataset_id=reference_dataset_id,
        )
    except Conflict:
        if not upsert:
            raise
        existing = (await stores.tracing_projects.by_names(project_id, [name])).get(name)
        if existing is None:
            raise
        changes = {
            k: value
            for k, value in (("description", description), ("extra", extra), ("end_time", end_time))
            if value is not None
        }
        return await update(stores, project_id, existing.id, changes)


def _check_details(description: Any, extra: Any) -> None:
    if description is not None:
        v.check_text(description, "description", v.MAX_COMMENT_CHARS)
    if extra is not None:
        v.check_json(extra, "extra", v.MAX_METADATA_BYTES)


async def update(
    stores: Stores, project_id: str, tracing_project_id: str, changes: dict[str, Any]
) -> TracingProject:
    """Change ``name``, ``description``, ``extra`` or ``end_time``; runs keep
    their tracing project through a rename (they hold its id)."""
    if "name" in changes:
        changes["name"] = check_name(changes["name"])
    _check_details(changes.get("description"), changes.get("extra"))
    changes["updated_at"] = clock.now()
    updated = await stores.tracing_projects.update(project_id, tracing_project_id, changes)
    if updated is None:
        raise NotFound(f"tracing project {tracing_project_id} not found")
    return updated


async def delete(stores: Stores, project_id: str, tracing_project_id: str) -> None:
    """Delete an empty tracing project; one with runs is refused (Conflict)."""
    record = await get(stores, project_id, tracing_project_id)
    runs = await stores.runs.count_in_tracing_project(project_id, tracing_project_id)
    if runs == 0:
        await stores.tracing_projects.delete(project_id, tracing_project_id)
        # A run that arrived while deleting keeps its tracing project.
        runs = await stores.runs.count_in_tracing_project(project_id, tracing_project_id)
        if runs == 0:
            return
        await stores.tracing_projects.restore(record)
    raise Conflict(
        f"tracing project {record.name!r} has {runs} run(s); Plaudit does not delete runs "
        "(feedback refers to them), so only an empty tracing project can be deleted",
        runs=runs,
    )


@dataclass(frozen=True)
class KeyStats:
    n: int
    avg: float | None
    min: float | None
    max: float | None


@dataclass(frozen=True)
class TracingProjectStats:
    run_count: int
    last_run_start_time: datetime | None
    # The rest only up to STATS_MAX_RUNS runs (None above).
    latency_p50_seconds: float | None = None
    latency_p99_seconds: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    error_rate: float | None = None
    feedback: dict[str, KeyStats] | None = None


async def stats(stores: Stores, record: TracingProject) -> TracingProjectStats:
    runs = stores.runs
    count = await runs.count_in_tracing_project(record.project_id, record.id)
    last = await runs.last_start_in_tracing_project(record.project_id, record.id)
    if count > STATS_MAX_RUNS:
        return TracingProjectStats(run_count=count, last_run_start_time=last)
    summaries = await runs.summaries_in_tracing_project(record.project_id, record.id)
    latencies = sorted(s.latency_ms for s in summaries if s.latency_ms is not None)
    feedback = await _feedback_stats(stores, record.project_id, [s.id for s in summaries])
    return TracingProjectStats(
        run_count=count,
        last_run_start_time=last,
        latency_p50_seconds=_percentile(latencies, 0.5),
        latency_p99_seconds=_percentile(latencies, 0.99),
        prompt_tokens=sum(s.prompt_tokens or 0 for s in summaries),
        completion_tokens=sum(s.completion_tokens or 0 for s in summaries),
        total_tokens=sum(s.total_tokens or 0 for s in summaries),
        error_rate=(sum(1 for s in summaries if s.failed) / len(summaries)) if summaries else None,
        feedback=feedback,
    )


def _percentile(sorted_ms: list[float], fraction: float) -> float | None:
    """Nearest rank, in seconds."""
    if not sorted_ms:
        return None
    rank = max(0, min(len(sorted_ms) - 1, round(fraction * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[rank] / 1000


async def _feedback_stats(
    stores: Stores, project_id: str, run_ids: list[str]
) -> dict[str, KeyStats]:
    count: dict[str, int] = defaultdict(int)
    scored: dict[str, int] = defaultdict(int)
    total: dict[str, float] = defaultdict(float)
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    for start in range(0, len(run_ids), CHUNK):
        for row in await stores.feedback.stats_for_runs(project_id, run_ids[start : start + CHUNK]):
            count[row.key] += row.count
            if row.mean is not None and row.min is not None and row.max is not None:
                scored[row.key] += row.scored
                total[row.key] += row.mean * row.scored
                low[row.key] = min(low.get(row.key, row.min), row.min)
                high[row.key] = max(high.get(row.key, row.max), row.max)
    return {
        key: KeyStats(
            n=n,
            avg=total[key] / scored[key] if scored[key] else None,
            min=low.get(key),
            max=high.get(key),
        )
        for key, n in sorted(count.items())
    }


async def migrate_runs(stores: Stores) -> int:
    """Give every run without a tracing project one: the name its metadata kept
    (``ls_session_name``, which earlier versions wrote, moved out of the metadata),
    else ``default``. Idempotent and safe to run from several processes at once;
    runs at start-up, and costs one indexed read per Plaudit project when there is
    nothing to do. Returns how many runs it assigned."""
    assigned = 0
    now = clock.now()
    for project in await stores.projects.list():
        async for chunk in stores.runs.without_tracing_project(project.id, CHUNK):
            names = sorted({name or DEFAULT_NAME for _, name in chunk})
            by_name = await stores.tracing_projects.ensure_names(project.id, names, now)
            for name in names:
                moved = [run_id for run_id, kept in chunk if kept == name]
                unnamed = [run_id for run_id, kept in chunk if kept is None]
                if moved:
                    await stores.runs.assign_tracing_project(
                        moved, by_name[name].id, forget_session_name=True
                    )
                if unnamed and name == DEFAULT_NAME:
                    await stores.runs.assign_tracing_project(unnamed, by_name[name].id)
            assigned += len(chunk)
    if assigned:
        log.info("assigned %d runs to tracing projects", assigned)
    return assigned
