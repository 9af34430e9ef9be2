"""Importing history from a LangSmith export: the runs and feedback its SDK's
``list_runs`` and ``list_feedback`` give, serialized as JSON (``model_dump_json()``
or ``json.dumps(run.dict(), default=str)``), one object each. Runs keep their own
times; feedback keeps its ``created_at`` (accepted here only, never from the API).
Importing the same objects again changes nothing: a run or feedback id already
stored is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.compat.langsmith.feedback import to_write as feedback_write
from app.compat.langsmith.http import parse_time
from app.compat.langsmith.runs import prepare_runs
from app.domain.feedback import Change, FeedbackWrite
from app.domain.lifecycle.imports import Imported, Progress, import_feedback
from app.domain.runs import ingest_each_run
from app.errors import BadRequest, PlauditError
from app.store import Stores

RUN_BATCH = 100
CHANGE = Change(by="import:langsmith", via="cli")


def kind_of(item: Any) -> str:
    """``run`` or ``feedback``: a LangSmith feedback object has a key and a run;
    a run has a start time."""
    if not isinstance(item, dict):
        raise BadRequest("each item must be a JSON object (a LangSmith run or feedback)")
    if "key" in item and ("run_id" in item or "trace_id" in item):
        return "feedback"
    if "start_time" in item or "run_type" in item:
        return "run"
    raise BadRequest("neither a LangSmith run (start_time) nor feedback (key, run_id)")


async def import_langsmith(
    stores: Stores,
    project_id: str,
    items: Iterable[Any],
    progress: Progress = lambda _: None,
) -> Imported:
    """Import runs first (feedback needs its run), then feedback; rebuild rollups."""
    result = Imported()
    runs: list[tuple[int, dict[str, Any]]] = []
    feedback: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        try:
            (runs if kind_of(item) == "run" else feedback).append((index, item))
        except PlauditError as exc:
            result.refused.append((index, exc.message))
            progress(1)
    for start in range(0, len(runs), RUN_BATCH):
        await _import_runs(stores, project_id, runs[start : start + RUN_BATCH], result)
        progress(len(runs[start : start + RUN_BATCH]))
    await import_feedback(stores, project_id, feedback, _feedback_write, CHANGE, result, progress)
    return result


def _feedback_write(item: dict[str, Any]) -> FeedbackWrite:
    write = feedback_write(item)
    if item.get("created_at") is not None:
        write.created_at = parse_time(item["created_at"], "created_at")
    return write


async def _import_runs(
    stores: Stores, project_id: str, batch: list[tuple[int, dict[str, Any]]], result: Imported
) -> None:
    # A run already here (an import run before) is left as it is.
    ids = [str(run.get("id")) for _, run in batch]
    known = await stores.runs.existing_ids(project_id, ids)
    batch = [(index, run) for index, run in batch if str(run.get("id")) not in known]
    result.skipped += len(known)
    if not batch:
        return
    writes, refused = await prepare_runs(stores, project_id, [run for _, run in batch], create=True)
    result.refused += [(batch[r.index][0], r.error.message) for r in refused]
    if writes:
        ingested = await ingest_each_run(stores, project_id, [w for _, w in writes])
        result.refused += [
            (batch[writes[r.index][0]][0], r.error.message) for r in ingested.rejected
        ]
        result.runs += len(writes) - len(ingested.rejected)
