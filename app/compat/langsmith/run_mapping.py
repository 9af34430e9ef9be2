"""LangSmith runs as Plaudit runs, and back.

A LangSmith run carries ``extra.metadata``; it becomes the Plaudit run's metadata,
with ``ls_run_type`` added (and ``ls_address``, the JS SDK's agent address, when
sent). Its project (``session_name`` or ``session_id``) is the run's tracing
project (app/domain/tracing_projects.py). From the metadata Plaudit also takes
what it has fields for: ``ls_model_name`` (model), ``user_id``, and the thread
(``session_id``, ``thread_id`` or ``conversation_id``: Plaudit's session); token
counts come from ``usage_metadata`` in the outputs or the metadata.

Fields that are null or left out keep their stored value, so a run can be posted
at its start and patched at its end, in either order. ``serialized``, ``events``,
``extra.runtime`` and attachments are not kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app import clock
from app.compat.langsmith.http import iso, parse_time, validator
from app.domain import validation as v
from app.domain.runs import RunWrite
from app.store.runs import Run

RUN_TYPE = "ls_run_type"
ADDRESS = "ls_address"
THREAD_KEYS = ("session_id", "thread_id", "conversation_id")

ID = {"type": ["string", "null"]}
TEXT = {"type": ["string", "null"]}
# ISO 8601, or milliseconds since 1970 (the JS SDK's Date.now()).
TIME = {"type": ["string", "number", "null"]}
RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": ID,
        "trace_id": ID,
        "parent_run_id": ID,
        "name": TEXT,
        "run_type": TEXT,
        "session_name": TEXT,
        "session_id": ID,
        "address": TEXT,
        "start_time": TIME,
        "end_time": TIME,
        "error": TEXT,
        "inputs": {"type": ["object", "null"]},
        "outputs": {"type": ["object", "null"]},
        "extra": {
            "type": ["object", "null"],
            "properties": {"metadata": {"type": ["object", "null"]}},
        },
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "dotted_order": TEXT,
        "reference_example_id": ID,
    },
}
RUN = validator(RUN_SCHEMA)


def _error_text(error: str) -> str:
    """Tracebacks can be long; keep their end, where the exception is."""
    if len(error) <= v.MAX_COMMENT_CHARS:
        return error
    return "..." + error[-(v.MAX_COMMENT_CHARS - 3) :]


def _tokens(usage: Any) -> dict[str, int]:
    if not isinstance(usage, dict):
        return {}
    found = {}
    for theirs, ours in (
        ("input_tokens", "prompt_tokens"),
        ("output_tokens", "completion_tokens"),
        ("total_tokens", "total_tokens"),
    ):
        value = usage.get(theirs)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            found[ours] = value
    return found


def _from_metadata(write: RunWrite, metadata: dict[str, Any]) -> None:
    model = metadata.get("ls_model_name")
    if isinstance(model, str):
        write.model = model
    user = metadata.get("user_id")
    if isinstance(user, str):
        write.user_id = user
    for name in THREAD_KEYS:
        thread = metadata.get(name)
        if isinstance(thread, str):
            write.session_id = thread
            break


def to_write(run: dict[str, Any], stored: Run | None, *, create: bool) -> RunWrite:
    """``run`` has been checked against RUN and has an ``id``. ``stored`` is the run
    as stored now, if it is: incoming metadata is merged into its metadata."""
    write = RunWrite(id=v.check_uuid(run["id"], "id"))
    for name in (
        "name", "inputs", "outputs", "tags", "trace_id", "parent_run_id", "dotted_order",
        "reference_example_id",
    ):  # fmt: skip
        if run.get(name) is not None:
            setattr(write, name, run[name])
    for name in ("start_time", "end_time"):
        if run.get(name) is not None:
            setattr(write, name, parse_time(run[name], name))
    if run.get("error") is not None:
        write.error = _error_text(run["error"])
    if create and run.get("trace_id") is None and run.get("parent_run_id") is None:
        # A root run is its own trace (the SDK's non-batch path may leave it out).
        write.trace_id = write.id
    incoming = (run.get("extra") or {}).get("metadata")
    if run.get("session_name") is not None:
        write.tracing_project_name = run["session_name"]
    if run.get("session_id") is not None:
        write.tracing_project_id = run["session_id"]
    named = {
        key: run[field]
        for key, field in ((RUN_TYPE, "run_type"), (ADDRESS, "address"))
        if run.get(field) is not None
    }
    metadata: dict[str, Any] = {}
    if incoming is not None or named:
        base = stored.metadata if stored is not None and isinstance(stored.metadata, dict) else {}
        metadata = {**base, **(incoming or {}), **named}
        write.metadata = metadata
        _from_metadata(write, metadata)
    usage = (run.get("outputs") or {}).get("usage_metadata") or metadata.get("usage_metadata")
    for name, value in _tokens(usage).items():
        setattr(write, name, value)
    return write


def _as_dict(value: Any, name: str) -> dict[str, Any]:
    return value if isinstance(value, dict) else {name: value}


def dotted_segment(start: datetime | None, run_id: str) -> str:
    """A run's own part of a dotted order: its start (now, if unknown) and id."""
    at = (start or clock.now()).astimezone(UTC)
    return f"{at:%Y%m%dT%H%M%S%fZ}{run_id}"


def run_type(run: Run) -> str:
    """LangSmith's run type, kept in the metadata; runs written without one
    (through GraphQL) are chains."""
    kept = run.metadata.get(RUN_TYPE) if isinstance(run.metadata, dict) else None
    return kept if isinstance(kept, str) else "chain"


def status(run: Run) -> str:
    if run.error:
        return "error"
    return "success" if run.end_time is not None else "pending"


def parent_run_ids(run: Run) -> list[str]:
    """The run's ancestors, from the trace root down: the ids in its dotted order
    (``<time>Z<id>`` segments), else its parent."""
    if run.dotted_order:
        ids = [
            segment.split("Z", 1)[1] for segment in run.dotted_order.split(".") if "Z" in segment
        ]
        return [i for i in ids if i != run.id]
    return [run.parent_run_id] if run.parent_run_id else []


# Always in a run read back, whatever is selected: the SDKs' Run needs them.
REQUIRED = ("id", "name", "run_type", "start_time", "trace_id")
# LangSmith's run fields Plaudit does not keep: read back as null when selected.
NOT_KEPT = (
    "app_path",
    "child_run_ids",
    "completion_cost",
    "completion_cost_details",
    "completion_token_details",
    "first_token_time",
    "in_dataset",
    "inputs_preview",
    "manifest_id",
    "outputs_preview",
    "price_model_id",
    "prompt_cost",
    "prompt_cost_details",
    "prompt_token_details",
    "reference_dataset_id",
    "s3_urls",
    "serialized",
    "share_token",
    "total_cost",
    "trace_first_received_at",
    "trace_tier",
    "ttl_seconds",
)


def to_json(
    run: Run,
    tracing_project_name: str | None = None,
    feedback_stats: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Plaudit run as LangSmith's Run (its project is its tracing project)."""
    raw = run.metadata
    metadata = dict(raw) if isinstance(raw, dict) else ({} if raw is None else {"metadata": raw})
    metadata.pop(RUN_TYPE, None)
    return {
        "id": run.id,
        "name": run.name or "",
        "run_type": run_type(run),
        "start_time": iso(run.start_time),
        "end_time": iso(run.end_time),
        "extra": {"metadata": metadata},
        "error": run.error,
        "inputs": _as_dict(run.inputs, "input") if run.inputs is not None else {},
        "outputs": _as_dict(run.outputs, "output") if run.outputs is not None else None,
        "parent_run_id": run.parent_run_id,
        "parent_run_ids": parent_run_ids(run),
        "trace_id": run.trace_id or run.id,
        "tags": run.tags,
        "session_id": run.tracing_project_id,
        "session_name": tracing_project_name,
        "thread_id": run.session_id,
        "status": status(run),
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": run.completion_tokens,
        "total_tokens": run.total_tokens,
        "dotted_order": run.dotted_order or "",
        "events": [],
        "reference_example_id": run.reference_example_id,
        "feedback_stats": feedback_stats,
        **dict.fromkeys(NOT_KEPT),
    }


# What /runs/query's select may name: every key to_json writes.
SELECTABLE = frozenset(
    (
        "id", "name", "run_type", "start_time", "end_time", "extra", "error", "inputs",
        "outputs", "parent_run_id", "parent_run_ids", "trace_id", "tags", "session_id",
        "session_name", "thread_id", "status", "prompt_tokens", "completion_tokens",
        "total_tokens", "dotted_order", "events", "reference_example_id", "feedback_stats",
        *NOT_KEPT,
    )
)  # fmt: skip
