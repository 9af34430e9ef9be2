"""Observations: ``GET /api/public/observations`` (pages by number, Langfuse's
ObservationsViews), ``GET /api/public/observations/{id}`` and
``GET /api/public/v2/observations`` (what the 5.x SDKs read: a cursor, every field
group, inputs and outputs as JSON text). Filters: ``traceId``, ``type``,
``name``, ``parentObservationId``, ``userId``, ``sessionId``, ``fromStartTime``,
``toStartTime``, ``environment`` (how lists page: app/compat/langfuse/listing.py).
What an observation is: app/compat/langfuse/shapes.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langfuse import listing, shapes
from app.compat.langfuse.http import principal
from app.compat.langfuse.ids import trace_run_id
from app.compat.langsmith.http import endpoint, query_int, services
from app.domain.run_search import RunSearch, SearchPage, search_runs
from app.errors import BadRequest, NotFound
from app.store.runs import Run, RunAccess

FILTERS = (
    "traceId",
    "type",
    "name",
    "parentObservationId",
    "userId",
    "sessionId",
    "fromStartTime",
    "toStartTime",
    "environment",
)
V1_PARAMS = ("page", "limit", *FILTERS)
# v2: ``fields`` and ``expandMetadata`` choose what is shown (Plaudit shows it all,
# metadata never cut); ``parseIoAsJson`` may only be false, as in Langfuse.
V2_PARAMS = (
    "cursor",
    "limit",
    "fields",
    "expandMetadata",
    "parseIoAsJson",
    *FILTERS,
)
V2_MAX_LIMIT = 1000


def _type(raw: str) -> str:
    kind = raw.upper()
    if kind not in shapes.OBSERVATION_TYPES:
        raise BadRequest(
            f"unknown observation type {raw[:40]!r}; one of {', '.join(shapes.OBSERVATION_TYPES)}",
            field="type",
        )
    return kind


async def _search(request: Request, project_id: str) -> RunSearch | None:
    """The runs the filters select; None: none can match. The walk follows the
    trace or the parent when one is given, else the whole project."""
    params = request.query_params
    since, until = listing.time_filter(request, "fromStartTime", "toStartTime")
    if not listing.in_environment(request):
        return None
    access = RunAccess()
    trace_id = params.get("traceId") or None
    if trace_id:
        access = RunAccess("trace_id", trace_run_id(trace_id))
    # With a parent, the walk follows it, and the trace is a filter.
    within = None
    parent = params.get("parentObservationId")
    if parent:
        parent_run = await listing.observation_run_id(
            request, project_id, parent, trace_id, "parentObservationId"
        )
        if parent_run is None:
            return None
        within, access = access.value, RunAccess("parent_run_id", parent_run)
    kind = _type(params["type"]) if params.get("type") else None
    wanted = {
        "name": params.get("name") or None,
        "user_id": params.get("userId") or None,
        "session_id": params.get("sessionId") or None,
        "trace_id": within,
    }

    def matches(run: Run) -> bool:
        if not shapes.is_observation(run):
            return False
        if any(value is not None and getattr(run, name) != value for name, value in wanted.items()):
            return False
        return kind is None or shapes.observation_type(run) == kind

    return RunSearch(access, matches, since, until)


async def _page(request: Request, project_id: str, skip: int, limit: int) -> tuple[list[Run], bool]:
    """A page of the selected runs (newest first), and whether more follow."""
    search = await _search(request, project_id)
    if search is None:
        return [], False
    return await listing.walk_page(request, project_id, search, skip, limit)


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, V1_PARAMS)
    asked = listing.page_asked(request)
    runs, more = await _page(request, who.project_id, asked.offset, asked.limit)
    parents = await listing.parent_ids(request, who.project_id, runs)
    data = [shapes.observation(run, parents[run.id]) for run in runs]
    return JSONResponse({"data": data, "meta": asked.meta(len(runs), more)})


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, ())
    raw = request.path_params["observation_id"]
    run_id = await listing.observation_run_id(request, who.project_id, raw, None, "observationId")
    run = await services(request).stores.runs.get(who.project_id, run_id) if run_id else None
    if run is None or not shapes.is_observation(run):
        raise NotFound(f"observation {raw[:80]} not found")
    parents = await listing.parent_ids(request, who.project_id, [run])
    return JSONResponse(shapes.observation(run, parents[run.id]))


@endpoint
async def list_v2(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, V2_PARAMS)
    if request.query_params.get("parseIoAsJson") not in (None, "false"):
        raise BadRequest(
            "parseIoAsJson is deprecated: inputs and outputs are JSON text; leave it out",
            field="parseIoAsJson",
        )
    limit = query_int(request, "limit", 50, 1, V2_MAX_LIMIT)
    search = await _search(request, who.project_id)
    found = SearchPage([], None)
    if search is not None:
        found = await search_runs(
            services(request).stores,
            who.project_id,
            search,
            limit,
            request.query_params.get("cursor") or None,
        )
    runs = found.runs
    parents = await listing.parent_ids(request, who.project_id, runs)
    traces = {
        run.id: run
        for run in await services(request).stores.runs.get_many(
            who.project_id, list({r.trace_id for r in runs if r.trace_id})
        )
    }
    data = [
        shapes.observation_v2(who.project_id, run, parents[run.id], traces.get(run.trace_id or ""))
        for run in runs
    ]
    meta = {"cursor": found.next_cursor} if found.next_cursor else {}
    return JSONResponse({"data": data, "meta": meta})
