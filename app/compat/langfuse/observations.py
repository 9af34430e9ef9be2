"""Observations: ``GET /api/public/observations`` (pages by number, Langfuse's
ObservationsViews), ``GET /api/public/observations/{id}`` and
``GET /api/public/v2/observations`` (what the 5.x SDKs read: a cursor, every field
group, inputs and outputs as JSON text). Filters: ``traceId``, ``type``,
``name``, ``parentObservationId``, ``userId``, ``sessionId``, ``fromStartTime``,
``toStartTime``, ``environment``. What an
observation is: app/compat/langfuse/shapes.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langfuse import listing, shapes
from app.compat.langfuse.http import principal
from app.compat.langfuse.ids import trace_run_id
from app.compat.langfuse.traces import TRACE_MARK
from app.compat.langsmith.http import endpoint, query_int, services
from app.errors import BadRequest, NotFound
from app.store.runs import Run, RunQuery

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


async def _query(request: Request, project_id: str) -> RunQuery | None:
    """The runs the filters select; None: none can match."""
    params = request.query_params
    since, until = listing.time_filter(request, "fromStartTime", "toStartTime")
    query = RunQuery(
        name=params.get("name") or None,
        user_id=params.get("userId") or None,
        session_id=params.get("sessionId") or None,
        start_after=since,
        start_before=until,
        metadata_not={TRACE_MARK: True},
    )
    trace_id = params.get("traceId") or None
    if trace_id:
        query.trace_id = trace_run_id(trace_id)
    if params.get("type"):
        query.metadata_any = shapes.type_conditions(_type(params["type"]))
    parent = params.get("parentObservationId")
    if parent:
        query.parent_run_id = await listing.observation_run_id(
            request, project_id, parent, trace_id, "parentObservationId"
        )
        if query.parent_run_id is None:
            return None
    if not listing.in_environment(request):
        return None
    return query


async def _page(
    request: Request, project_id: str, offset: int, limit: int, *, count: bool
) -> tuple[list[Run], int]:
    """A page of the selected runs (newest first), and how many are selected
    (with ``count``; else 0)."""
    query = await _query(request, project_id)
    if query is None:
        return [], 0
    stores = services(request).stores
    total = await stores.runs.count(project_id, query) if count else 0
    runs = await stores.runs.list_offset(project_id, query, offset=offset, limit=limit)
    return runs, total


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, V1_PARAMS)
    asked = listing.page_asked(request)
    runs, total = await _page(request, who.project_id, asked.offset, asked.limit, count=True)
    parents = await listing.parent_ids(request, who.project_id, runs)
    data = [shapes.observation(run, parents[run.id]) for run in runs]
    return JSONResponse({"data": data, "meta": asked.meta(total)})


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    listing.check_params(request, ())
    raw = request.path_params["observation_id"]
    run_id = await listing.observation_run_id(request, who.project_id, raw, None, "observationId")
    run = await services(request).stores.runs.get(who.project_id, run_id) if run_id else None
    if run is None or shapes.is_trace_run(run):
        raise NotFound(f"observation {raw[:80]} not found")
    parents = await listing.parent_ids(request, who.project_id, [run])
    return JSONResponse(shapes.observation(run, parents[run.id]))


def _cursor(request: Request) -> int:
    raw = request.query_params.get("cursor")
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 9 or int(raw) > listing.MAX_OFFSET:
        raise BadRequest("cursor must be one this API returned", field="cursor")
    return int(raw)


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
    offset = _cursor(request)
    runs, _ = await _page(request, who.project_id, offset, limit + 1, count=False)
    more = len(runs) > limit
    runs = runs[:limit]
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
    meta: dict[str, str] = {}
    if more and offset + limit < listing.MAX_OFFSET:
        meta["cursor"] = str(offset + limit)
    return JSONResponse({"data": data, "meta": meta})
