"""Sessions: ``GET /api/public/sessions`` (a page of the project's session ids,
newest first, with ``fromTimestamp`` / ``toTimestamp`` on their creation) and
``GET /api/public/sessions/{id}`` (a session with its traces, oldest first). A
Langfuse session is Plaudit's ``session_id`` on runs; its ``createdAt`` is the
start of its first run; its traces are its runs without a parent
(app/compat/langfuse/shapes.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langfuse import listing, shapes
from app.compat.langfuse.http import principal
from app.compat.langsmith.http import endpoint, services
from app.domain import validation as v
from app.errors import NotFound
from app.store.runs import RunQuery

LIST_PARAMS = ("page", "limit", "fromTimestamp", "toTimestamp", "environment")
# A session's traces read back at most (its newest).
MAX_SESSION_TRACES = 1000


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, LIST_PARAMS)
    asked = listing.page_asked(request)
    since, until = listing.time_filter(request, "fromTimestamp", "toTimestamp")
    if not listing.in_environment(request):
        return JSONResponse({"data": [], "meta": asked.meta(0)})
    found, total = await services(request).stores.runs.sessions(
        who.project_id, since=since, until=until, offset=asked.offset, limit=asked.limit
    )
    data = [
        {
            "id": session_id,
            "createdAt": shapes.zulu(first),
            "projectId": who.project_id,
            "environment": shapes.ENVIRONMENT,
        }
        for session_id, first in found
    ]
    return JSONResponse({"data": data, "meta": asked.meta(total)})


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, ())
    session_id = request.path_params["session_id"]
    v.check_text(session_id, "sessionId", v.MAX_SHORT_CHARS)
    traces = await services(request).stores.runs.list_offset(
        who.project_id,
        RunQuery(session_id=session_id, is_root=True),
        offset=0,
        limit=MAX_SESSION_TRACES,
    )
    if not traces:
        raise NotFound(f"session {session_id[:80]} not found")
    traces.reverse()
    found = {
        "id": session_id,
        "createdAt": shapes.zulu(traces[0].start_time),
        "projectId": who.project_id,
        "environment": shapes.ENVIRONMENT,
        "traces": [shapes.trace(trace) for trace in traces],
    }
    return JSONResponse(found)
