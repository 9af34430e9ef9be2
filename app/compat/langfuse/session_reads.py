"""Sessions: ``GET /api/public/sessions`` (a page of the project's sessions, the
most recently active first, with ``fromTimestamp`` / ``toTimestamp`` on the
runs' start) and ``GET /api/public/sessions/{id}`` (a session with its traces,
oldest first). A Langfuse session is Plaudit's ``session_id`` on runs; its
``createdAt`` is the start of its first run; its traces are its runs without a
parent (app/compat/langfuse/shapes.py). The list walks the project's runs newest
first (app/compat/langfuse/listing.py), a session where its newest run is."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langfuse import listing, shapes
from app.compat.langfuse.http import principal
from app.compat.langsmith.http import endpoint, services
from app.domain import validation as v
from app.domain.run_search import RunSearch, search_runs
from app.errors import NotFound
from app.store.runs import RunAccess

LIST_PARAMS = ("page", "limit", "fromTimestamp", "toTimestamp", "environment")
# A session's runs read back at most (its newest), and so its traces.
MAX_SESSION_RUNS = 10_000


def _session(project_id: str, session_id: str, created: Any) -> dict[str, Any]:
    return {
        "id": session_id,
        "createdAt": shapes.zulu(created),
        "projectId": project_id,
        "environment": shapes.ENVIRONMENT,
    }


async def _session_ids(
    request: Request, project_id: str, skip: int, limit: int
) -> tuple[list[str], bool]:
    """The session ids of the runs, newest run first, after the first ``skip``;
    and whether more follow."""
    since, until = listing.time_filter(request, "fromTimestamp", "toTimestamp")
    search = RunSearch(RunAccess(), lambda run: run.session_id is not None, since, until)
    stores = services(request).stores
    found: dict[str, None] = {}
    cursor: str | None = None
    while len(found) <= skip + limit:
        page = await search_runs(stores, project_id, search, listing.MAX_LIMIT, cursor)
        found.update((run.session_id, None) for run in page.runs if run.session_id)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    ids = list(found)
    return ids[skip : skip + limit], len(ids) > skip + limit


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, LIST_PARAMS)
    asked = listing.page_asked(request)
    if not listing.in_environment(request):
        return JSONResponse({"data": [], "meta": asked.meta(0, False)})
    ids, more = await _session_ids(request, who.project_id, asked.offset, asked.limit)
    runs = services(request).stores.runs
    data = [
        _session(who.project_id, session_id, await runs.session_start(who.project_id, session_id))
        for session_id in ids
    ]
    return JSONResponse({"data": data, "meta": asked.meta(len(data), more)})


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, ())
    session_id = request.path_params["session_id"]
    v.check_text(session_id, "sessionId", v.MAX_SHORT_CHARS)
    runs = await services(request).stores.runs.in_session(
        who.project_id, session_id, MAX_SESSION_RUNS
    )
    if not runs:
        raise NotFound(f"session {session_id[:80]} not found")
    roots = [run.id for run in runs if shapes.is_trace(run)]
    traces = sorted(
        await services(request).stores.runs.get_many(who.project_id, roots),
        key=lambda run: (run.start_time, run.id),
    )
    found = {
        **_session(who.project_id, session_id, min(run.start_time for run in runs)),
        "traces": [shapes.trace(trace) for trace in traces],
    }
    return JSONResponse(found)
