"""``/runs``: what ``@traceable`` and ``Client.create_run``/``update_run`` send,
ingested by Plaudit's run domain into the API key's project.

``POST /runs/multipart`` answers 404 on purpose: the SDK then falls back to
``/runs/batch`` (``GET /info`` already tells it to use that)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith import run_mapping
from app.compat.langsmith.http import (
    endpoint,
    error_response,
    json_body,
    parse_time,
    principal,
    services,
    validator,
)
from app.domain import validation as v
from app.domain.runs import ingest_runs
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.pagination import MAX_PAGE_SIZE
from app.store.runs import RunQuery

BATCH = validator(
    {
        "type": "object",
        "properties": {
            "post": {"type": ["array", "null"], "items": run_mapping.RUN_SCHEMA},
            "patch": {"type": ["array", "null"], "items": run_mapping.RUN_SCHEMA},
        },
    }
)
QUERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "session": {"type": ["array", "null"], "items": {"type": "string"}},
        "id": {"type": ["array", "null"], "items": {"type": "string"}},
        "trace": {"type": ["string", "null"]},
        "parent_run": {"type": ["string", "null"]},
        "is_root": {"type": ["boolean", "integer", "null"]},
        "start_time": {"type": ["string", "null"]},
        "limit": {"type": ["integer", "null"], "minimum": 1},
        "cursor": {"type": ["string", "null"]},
        "select": {"type": ["array", "null"]},
    },
}
QUERY = validator(QUERY_SCHEMA)
QUERY_FIELDS = frozenset(QUERY_SCHEMA["properties"])


async def _ingest(
    stores: Stores, project_id: str, runs: list[dict[str, Any]], *, create: bool
) -> None:
    for run in runs:
        if run.get("id") is None:
            raise BadRequest("every run needs an id", field="id")
    ids = [v.check_uuid(run["id"], "id") for run in runs]
    stored = {r.id: r for r in await stores.runs.get_many(project_id, ids)}
    writes = [
        run_mapping.to_write(run, stored.get(run_id), create=create)
        for run, run_id in zip(runs, ids, strict=True)
    ]
    await ingest_runs(stores, project_id, writes)


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "ingest")
    run = await json_body(request, run_mapping.RUN)
    await _ingest(services(request).stores, who.project_id, [run], create=True)
    return JSONResponse({"id": v.check_uuid(run["id"], "id")})


@endpoint
async def update(request: Request) -> Response:
    who = await principal(request, "ingest")
    run_id = v.check_uuid(request.path_params["run_id"], "run_id")
    run = await json_body(request, run_mapping.RUN)
    if run.get("id") is not None and v.check_uuid(run["id"], "id") != run_id:
        raise BadRequest("the id in the body is not the run id in the path", field="id")
    await _ingest(services(request).stores, who.project_id, [{**run, "id": run_id}], create=False)
    return JSONResponse({"id": run_id})


@endpoint
async def batch(request: Request) -> Response:
    """``{post: [runs], patch: [runs]}``: posts first, then patches, so a run that
    starts and ends within one batch ends up complete."""
    who = await principal(request, "ingest")
    body = await json_body(request, BATCH)
    stores = services(request).stores
    posts, patches = body.get("post") or [], body.get("patch") or []
    if posts:
        await _ingest(stores, who.project_id, posts, create=True)
    if patches:
        await _ingest(stores, who.project_id, patches, create=False)
    return JSONResponse({"post": len(posts), "patch": len(patches)})


async def multipart(request: Request) -> Response:
    return error_response(
        NotFound(
            "Plaudit does not take multipart run ingestion; send runs to /runs/batch "
            "(GET /info says so with use_multipart_endpoint: false)"
        )
    )


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    run_id = v.check_uuid(request.path_params["run_id"], "run_id")
    run = await services(request).stores.runs.get(who.project_id, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return JSONResponse(run_mapping.to_json(run))


@endpoint
async def query(request: Request) -> Response:
    """Runs newest first, with a few of LangSmith's filters: ``id``, ``trace``,
    ``parent_run``, ``is_root``, ``start_time`` and ``session`` (the project id)."""
    who = await principal(request, "read")
    body = await json_body(request, QUERY)
    unsupported = sorted(k for k, value in body.items() if k not in QUERY_FIELDS and value)
    if unsupported:
        raise BadRequest(
            f"Plaudit's /runs/query does not support {', '.join(unsupported)}; it filters by "
            f"{', '.join(sorted(QUERY_FIELDS - {'limit', 'cursor', 'select'}))}",
            field=unsupported[0],
        )
    empty = {"runs": [], "cursors": {"next": None}}
    sessions = body.get("session")
    if sessions is not None and who.project_id not in sessions:
        return JSONResponse(empty)
    ids = body.get("id")
    is_root = body.get("is_root")
    run_query = RunQuery(
        ids=[v.check_uuid(i, "id") for i in ids] if ids is not None else None,
        trace_id=v.check_uuid(body["trace"], "trace") if body.get("trace") else None,
        parent_run_id=(
            v.check_uuid(body["parent_run"], "parent_run") if body.get("parent_run") else None
        ),
        is_root=bool(is_root) if is_root is not None else None,
        start_after=(
            parse_time(body["start_time"], "start_time") if body.get("start_time") else None
        ),
    )
    size = min(body.get("limit") or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    page = await services(request).stores.runs.page(
        who.project_id, run_query, size, body.get("cursor")
    )
    return JSONResponse(
        {
            "runs": [run_mapping.to_json(r) for r in page.items],
            "cursors": {"next": page.end_cursor if page.has_next_page else None},
        }
    )
