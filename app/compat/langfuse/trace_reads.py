"""``GET /api/public/traces/{id}`` (a trace with its observations and scores:
Langfuse's TraceWithFullDetails) and ``GET /api/public/traces`` (a page of
traces, newest first, each with its observation and score ids) with the filters
``userId``, ``sessionId``, ``name``, ``tags`` (all of them), ``fromTimestamp``,
``toTimestamp``, ``environment``, ``page`` and ``limit`` (pages: see
app/compat/langfuse/listing.py). What a trace and an observation are:
app/compat/langfuse/shapes.py."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langfuse import listing, shapes
from app.compat.langfuse.http import principal
from app.compat.langsmith.http import endpoint, services
from app.domain.run_search import RunSearch
from app.store.feedback import Feedback, FeedbackQuery
from app.store.runs import Run, RunAccess, RunQuery

# A trace's runs and scores read back at most (the first of them, newest first).
MAX_TRACE_RUNS = 1000
MAX_TRACE_SCORES = 1000
# For a page of traces, their runs and scores read at most in all.
MAX_PAGE_RUNS = 10_000
LIST_PARAMS = (
    "page",
    "limit",
    "userId",
    "sessionId",
    "name",
    "tags",
    "fromTimestamp",
    "toTimestamp",
    "environment",
    "fields",
)


def _trace_key(run: Run) -> str:
    return run.trace_id or run.id


async def _runs_of(
    request: Request, project_id: str, trace_keys: list[str], limit: int, heavy: bool
) -> list[Run]:
    """The observations of these traces (every run in them but the traces' own)."""
    if not trace_keys:
        return []
    runs = await services(request).stores.runs.list_newest(
        project_id, RunQuery(trace_ids=trace_keys), limit=limit, heavy=heavy
    )
    return [run for run in runs if shapes.is_observation(run)]


async def _scores_on(
    request: Request, project_id: str, run_ids: list[str], limit: int
) -> list[Feedback]:
    if not run_ids:
        return []
    return await services(request).stores.feedback.list_offset(
        project_id, FeedbackQuery(run_ids=run_ids), offset=0, limit=limit
    )


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, ("fields",))
    trace = await listing.find_trace(request, who.project_id, request.path_params["trace_id"])
    runs = await _runs_of(request, who.project_id, [_trace_key(trace)], MAX_TRACE_RUNS, True)
    runs.sort(key=lambda run: (run.start_time, run.id))
    parents = await listing.parent_ids(request, who.project_id, [trace, *runs])
    ids = list({trace.id, *(run.id for run in runs)})
    records = await _scores_on(request, who.project_id, ids, MAX_TRACE_SCORES)
    trace_id = shapes.trace_id_of(trace)
    found: dict[str, Any] = {
        **shapes.trace(trace),
        "observations": [shapes.observation(run, parents[run.id]) for run in runs],
        "scores": [shapes.score_v1(who.project_id, trace_id, r) for r in records],
    }
    return JSONResponse(found)


def _search(request: Request) -> RunSearch:
    params = request.query_params
    since, until = listing.time_filter(request, "fromTimestamp", "toTimestamp")
    wanted = {
        "user_id": params.get("userId") or None,
        "session_id": params.get("sessionId") or None,
        "name": params.get("name") or None,
    }
    tags = {tag for tag in params.getlist("tags") if tag}

    def matches(run: Run) -> bool:
        if not shapes.is_trace(run):
            return False
        if any(value is not None and getattr(run, name) != value for name, value in wanted.items()):
            return False
        return tags <= set(run.tags)

    return RunSearch(RunAccess("parent_run_id", None), matches, since, until)


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, LIST_PARAMS)
    asked = listing.page_asked(request)
    search = _search(request)
    if not listing.in_environment(request):
        return JSONResponse({"data": [], "meta": asked.meta(0, False)})
    traces, more = await listing.walk_page(
        request, who.project_id, search, asked.offset, asked.limit
    )
    keys = [_trace_key(trace) for trace in traces]
    runs = await _runs_of(request, who.project_id, keys, MAX_PAGE_RUNS, False)
    in_trace: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        in_trace[_trace_key(run)].append(run)
    trace_of = {run.id: _trace_key(run) for run in [*runs, *traces]}
    records = await _scores_on(request, who.project_id, list(trace_of), MAX_PAGE_RUNS)
    scored: dict[str, list[str]] = defaultdict(list)
    for record in records:
        scored[trace_of[record.run_id]].append(shapes.score_id(record))
    data = [
        {
            **shapes.trace(trace),
            "observations": [shapes.observation_id(r) for r in in_trace[_trace_key(trace)]],
            "scores": scored[_trace_key(trace)],
        }
        for trace in traces
    ]
    return JSONResponse({"data": data, "meta": asked.meta(len(traces), more)})
