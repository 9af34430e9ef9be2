"""Runs: the LLM calls feedback is about."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from app import clock
from app.domain import run_events
from app.domain import validation as v
from app.domain.feedback import attach_arrived_runs
from app.domain.missing import MISSING
from app.errors import BadRequest
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
    extra: dict[str, Any] = field(default_factory=dict)

    def given(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("id", "extra") and getattr(self, f.name) is not MISSING
        }


def _as_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _check(run: RunWrite) -> tuple[str, dict[str, Any]]:
    run_id = v.check_uuid(run.id, "id")
    given = run.given()
    for name in ("name", "user_id", "session_id", "model"):
        if name in given:
            v.check_text(given[name], name)
    for name in ("trace_id", "parent_run_id"):
        if given.get(name) is not None:
            given[name] = v.check_uuid(given[name], name)
    for name in ("inputs", "outputs"):
        if name in given:
            v.check_json(given[name], name)
    if "metadata" in given:
        v.check_json(given["metadata"], "metadata", v.MAX_METADATA_BYTES)
    if "error" in given:
        v.check_text(given["error"], "error", v.MAX_COMMENT_CHARS)
    if "tags" in given:
        given["tags"] = v.check_tags(given["tags"]) or []
    for name in ("start_time", "end_time"):
        if given.get(name) is not None:
            given[name] = _as_utc(given[name], name)
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if given.get(name) is not None and given[name] < 0:
            raise BadRequest(f"{name} must not be negative", field=name)
    if given.get("latency_ms") is not None and given["latency_ms"] < 0:
        raise BadRequest("latency_ms must not be negative", field="latency_ms")
    start, end = given.get("start_time"), given.get("end_time")
    if start is not None and end is not None:
        if end < start:
            raise BadRequest("end_time is before start_time", field="end_time")
        given.setdefault("latency_ms", (end - start).total_seconds() * 1000)
    if given.get("prompt_tokens") is not None and given.get("completion_tokens") is not None:
        given.setdefault("total_tokens", given["prompt_tokens"] + given["completion_tokens"])
    if given.get("start_time") is None:
        given.pop("start_time", None)
    for key, value in run.extra.items():
        given[key] = value
    return run_id, given


async def ingest_runs(stores: Stores, project_id: str, runs: list[RunWrite]) -> list[Run]:
    """Upsert runs by their client-given id: create at start, complete later."""
    if not runs:
        raise BadRequest("no runs given")
    if len(runs) > v.MAX_BATCH:
        raise BadRequest(f"at most {v.MAX_BATCH} runs per call, got {len(runs)}")
    now = clock.now()
    checked = [_check(run) for run in runs]
    seen: set[str] = set()
    for run_id, _ in checked:
        if run_id in seen:
            raise BadRequest(f"run {run_id} appears twice in one call", field="id")
        seen.add(run_id)
    # A run completed in a later call: derive latency from the stored start time.
    completing = [
        run_id
        for run_id, given in checked
        if given.get("end_time") is not None and "latency_ms" not in given
    ]
    stored = (
        {r.id: r for r in await stores.runs.get_many(project_id, completing)} if completing else {}
    )
    writes = []
    for run_id, given in checked:
        if run_id in stored and given["end_time"] >= stored[run_id].start_time:
            given["latency_ms"] = (
                given["end_time"] - stored[run_id].start_time
            ).total_seconds() * 1000
        on_insert: dict[str, Any] = {"created_at": now}
        if "start_time" not in given:
            on_insert["start_time"] = now
        for name in ("tags",):
            if name not in given:
                on_insert[name] = []
        given["updated_at"] = now
        writes.append((run_id, given, on_insert))
    written = await stores.runs.upsert_many(project_id, writes)
    # Runs this call created (created_at is this call's, to the stored millisecond)
    # may have feedback waiting for them.
    this_call = now.replace(microsecond=now.microsecond // 1000 * 1000)
    await attach_arrived_runs(
        stores, project_id, [r.id for r in written if r.created_at >= this_call]
    )
    await run_events.publish(stores, project_id, written)
    return written
