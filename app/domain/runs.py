"""Runs: the LLM calls feedback is about."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from app import clock
from app.domain import run_events, tracing_projects
from app.domain import validation as v
from app.domain.feedback import attach_arrived_runs
from app.domain.missing import MISSING
from app.domain.tracing_projects import TracingProjectRef, check_ref
from app.errors import BadRequest, Conflict, PlauditError
from app.store import Stores
from app.store.runs import Run


@dataclass
class RunWrite:
    """A run to create or complete. Fields left MISSING keep their stored value."""

    id: str
    name: Any = MISSING
    inputs: Any = MISSING
    outputs: Any = MISSING
    tags: Any = MISSING
    metadata: Any = MISSING
    user_id: Any = MISSING
    session_id: Any = MISSING
    trace_id: Any = MISSING
    parent_run_id: Any = MISSING
    model: Any = MISSING
    start_time: Any = MISSING
    end_time: Any = MISSING
    latency_ms: Any = MISSING
    prompt_tokens: Any = MISSING
    completion_tokens: Any = MISSING
    total_tokens: Any = MISSING
    error: Any = MISSING
    dotted_order: Any = MISSING
    # The tracing project, by name or id (app/domain/tracing_projects.py); a new run
    # naming none goes to "default".
    tracing_project_name: Any = MISSING
    tracing_project_id: Any = MISSING
    # In an experiment: the dataset example the run was made from.
    reference_example_id: Any = MISSING
    extra: dict[str, Any] = field(default_factory=dict)

    def given(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("id", "extra") and getattr(self, f.name) is not MISSING
        }


MS = timedelta(milliseconds=1)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _to_ms(value: datetime) -> datetime:
    """Times are stored as MongoDB dates, which keep milliseconds."""
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


def _check(run: RunWrite) -> tuple[str, dict[str, Any], TracingProjectRef | None]:
    run_id = v.check_uuid(run.id, "id")
    given = run.given()
    ref = check_ref(given.pop("tracing_project_name", None), given.pop("tracing_project_id", None))
    for name in ("name", "user_id", "session_id", "model"):
        if name in given:
            v.check_text(given[name], name)
    for name in ("trace_id", "parent_run_id", "reference_example_id"):
        if given.get(name) is not None:
            given[name] = v.check_uuid(given[name], name)
    for name in ("inputs", "outputs"):
        if name in given:
            v.check_json(given[name], name)
    if "metadata" in given:
        v.check_json(given["metadata"], "metadata", v.MAX_METADATA_BYTES)
    if "error" in given:
        v.check_text(given["error"], "error", v.MAX_COMMENT_CHARS)
    if "dotted_order" in given:
        v.check_text(given["dotted_order"], "dotted_order", v.MAX_COMMENT_CHARS)
    if "tags" in given:
        given["tags"] = v.check_tags(given["tags"]) or []
    for name in ("start_time", "end_time"):
        if given.get(name) is not None:
            given[name] = _as_utc(given[name])
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if given.get(name) is not None and given[name] < 0:
            raise BadRequest(f"{name} must not be negative", field=name)
    if given.get("latency_ms") is not None and given["latency_ms"] < 0:
        raise BadRequest("latency_ms must not be negative", field="latency_ms")
    start, end = given.get("start_time"), given.get("end_time")
    if start is not None and end is not None and end < start:
        # Less than a millisecond: an ordering tie-break (the JS SDK sends a start
        # with microseconds counting the run's place among its siblings, and a
        # whole-millisecond end), not an end before the start.
        if start - end >= MS:
            raise BadRequest("end_time is before start_time", field="end_time")
        given["end_time"] = end = start
    for name in ("start_time", "end_time"):
        if given.get(name) is not None:
            given[name] = _to_ms(given[name])
    start, end = given.get("start_time"), given.get("end_time")
    if start is not None and end is not None:
        given.setdefault("latency_ms", (end - start).total_seconds() * 1000)
    if given.get("prompt_tokens") is not None and given.get("completion_tokens") is not None:
        given.setdefault("total_tokens", given["prompt_tokens"] + given["completion_tokens"])
    if given.get("start_time") is None:
        given.pop("start_time", None)
    for key, value in run.extra.items():
        given[key] = value
    return run_id, given, ref


@dataclass(frozen=True)
class RejectedRun:
    """A run of a call that was not stored, and why: ``index`` is its place in
    the call."""

    index: int
    run_id: str
    error: PlauditError


@dataclass(frozen=True)
class Ingested:
    runs: list[Run]
    rejected: list[RejectedRun]


async def ingest_runs(stores: Stores, project_id: str, runs: list[RunWrite]) -> list[Run]:
    """Upsert runs by their client-given id: create at start, complete later. All
    or nothing: a bad run refuses the call before anything is written (a run id
    another project uses is found only when writing; the others are written)."""
    return (await _ingest(stores, project_id, runs, each=False)).runs


async def ingest_each_run(stores: Stores, project_id: str, runs: list[RunWrite]) -> Ingested:
    """Upsert runs each on its own: the good ones are stored, the others reported."""
    return await _ingest(stores, project_id, runs, each=True)


Checked = list[tuple[int, str, dict[str, Any]]]


async def _group(
    stores: Stores,
    project_id: str,
    checked: Checked,
    refs: list[TracingProjectRef | None],
    rejected: list[RejectedRun],
    now: datetime,
    each: bool,
) -> tuple[Checked, str | None]:
    """Set each run's tracing project; the runs that can have theirs, and the id
    of "default" for new runs that name none."""
    grouped, default_id = await tracing_projects.resolve(stores, project_id, refs, now)
    kept: Checked = []
    for (index, run_id, given), found in zip(checked, grouped, strict=True):
        if isinstance(found, PlauditError):
            if not each:
                raise found
            rejected.append(RejectedRun(index, run_id, found))
            continue
        if found is not None:
            given["tracing_project_id"] = found
        kept.append((index, run_id, given))
    return kept, default_id


async def _ingest(stores: Stores, project_id: str, runs: list[RunWrite], *, each: bool) -> Ingested:
    if not runs:
        raise BadRequest("no runs given")
    if len(runs) > v.MAX_BATCH:
        raise BadRequest(f"at most {v.MAX_BATCH} runs per call, got {len(runs)}")
    now = clock.now()
    rejected: list[RejectedRun] = []
    checked: Checked = []
    refs: list[TracingProjectRef | None] = []
    seen: set[str] = set()
    for index, run in enumerate(runs):
        try:
            run_id, given, ref = _check(run)
            if run_id in seen:
                raise BadRequest(f"run {run_id} appears twice in one call", field="id")
        except PlauditError as exc:
            if not each:
                raise
            rejected.append(RejectedRun(index, str(run.id), exc))
            continue
        seen.add(run_id)
        checked.append((index, run_id, given))
        refs.append(ref)
    checked, default_id = await _group(stores, project_id, checked, refs, rejected, now, each)
    # A run completed in a later call: derive latency from the stored start time.
    completing = [
        run_id
        for _, run_id, given in checked
        if given.get("end_time") is not None and "latency_ms" not in given
    ]
    stored = (
        {r.id: r for r in await stores.runs.get_many(project_id, completing)} if completing else {}
    )
    writes = []
    for _, run_id, given in checked:
        if run_id in stored and given["end_time"] >= stored[run_id].start_time:
            given["latency_ms"] = (
                given["end_time"] - stored[run_id].start_time
            ).total_seconds() * 1000
        on_insert: dict[str, Any] = {"created_at": now}
        if "tracing_project_id" not in given:
            on_insert["tracing_project_id"] = default_id
        if "start_time" not in given:
            on_insert["start_time"] = now
        for name in ("tags",):
            if name not in given:
                on_insert[name] = []
        given["updated_at"] = now
        writes.append((run_id, given, on_insert))
    written, taken = await stores.runs.upsert_many(project_id, writes) if writes else ([], [])
    if written:
        # Runs this call created (created_at is this call's) may have feedback
        # waiting for them.
        await attach_arrived_runs(
            stores, project_id, [r.id for r in written if r.created_at >= now]
        )
        # Before a taken id is refused: the other runs are stored either way.
        await run_events.publish(stores, project_id, written)
    for position in taken:
        index, run_id, _ = checked[position]
        error = Conflict(f"run id {run_id} is already used by another project")
        if not each:
            raise error
        rejected.append(RejectedRun(index, run_id, error))
    return Ingested(runs=written, rejected=sorted(rejected, key=lambda r: r.index))
