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
from app.domain.runs import RejectedRun, RunWrite, ingest_each_run, ingest_runs
from app.errors import BadRequest, NotFound, PlauditError
from app.store import Stores
from app.store.pagination import MAX_PAGE_SIZE
from app.store.runs import Run, RunQuery

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


async def _prepare(
    stores: Stores, project_id: str, runs: list[dict[str, Any]], *, create: bool
) -> tuple[list[tuple[int, RunWrite]], list[RejectedRun]]:
    """The runs as Plaudit writes, each with its place in ``runs``; and those
    that cannot be (no id, a malformed id or time...)."""
    refused: list[RejectedRun] = []
    ids: dict[int, str] = {}
    for index, run in enumerate(runs):
        try:
            if run.get("id") is None:
                raise BadRequest("every run needs an id", field="id")
            ids[index] = v.check_uuid(run["id"], "id")
        except PlauditError as exc:
            refused.append(RejectedRun(index, str(run.get("id")), exc))
    stored = {r.id: r for r in await stores.runs.get_many(project_id, list(ids.values()))}
    writes: list[tuple[int, RunWrite]] = []
    for index, run_id in ids.items():
        try:
            writes.append(
                (index, run_mapping.to_write(runs[index], stored.get(run_id), create=create))
            )
        except PlauditError as exc:
            refused.append(RejectedRun(index, run_id, exc))
    return writes, refused


async def _ingest_one(
    stores: Stores, project_id: str, run: dict[str, Any], *, create: bool
) -> None:
    writes, refused = await _prepare(stores, project_id, [run], create=create)
    if refused:
        raise refused[0].error
    await ingest_runs(stores, project_id, [write for _, write in writes])


async def _ingest_each(
    stores: Stores, project_id: str, runs: list[dict[str, Any]], *, create: bool
) -> tuple[int, list[RejectedRun]]:
    """Store each good run: how many were, and the refused ones."""
    writes, refused = await _prepare(stores, project_id, runs, create=create)
    if writes:
        result = await ingest_each_run(stores, project_id, [write for _, write in writes])
        refused += [RejectedRun(writes[r.index][0], r.run_id, r.error) for r in result.rejected]
    return len(runs) - len(refused), sorted(refused, key=lambda r: r.index)


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "ingest")
    run = await json_body(request, run_mapping.RUN)
    await _ingest_one(services(request).stores, who.project_id, run, create=True)
    return JSONResponse({"id": v.check_uuid(run["id"], "id")})


@endpoint
async def update(request: Request) -> Response:
    who = await principal(request, "ingest")
    run_id = v.check_uuid(request.path_params["run_id"], "run_id")
    run = await json_body(request, run_mapping.RUN)
    if run.get("id") is not None and v.check_uuid(run["id"], "id") != run_id:
        raise BadRequest("the id in the body is not the run id in the path", field="id")
    await _ingest_one(services(request).stores, who.project_id, {**run, "id": run_id}, create=False)
    return JSONResponse({"id": run_id})


def _refusal(op: str, rejected: RejectedRun) -> dict[str, Any]:
    error = rejected.error
    return {
        "op": op,
        "index": rejected.index,
        "id": rejected.run_id,
        "status": error.http_status,
        "error": error.code.lower(),
        "detail": error.message,
        **error.details,
    }


@endpoint
async def batch(request: Request) -> Response:
    """``{post: [runs], patch: [runs]}``: posts first, then patches, so a run that
    starts and ends within one batch ends up complete.

    Each run stands alone: the good ones are stored even when others are refused.
    Then the answer is the refusal's status (400, or 409 for run ids another
    project uses; 400 when they differ) naming every refused run, so the SDKs,
    which log a failed batch and do not retry a 4xx, report it."""
    who = await principal(request, "ingest")
    body = await json_body(request, BATCH)
    stores = services(request).stores
    posts, patches = body.get("post") or [], body.get("patch") or []
    counts = {"post": 0, "patch": 0}
    refusals: list[dict[str, Any]] = []
    for op, runs in (("post", posts), ("patch", patches)):
        if runs:
            counts[op], refused = await _ingest_each(
                stores, who.project_id, runs, create=op == "post"
            )
            refusals += [_refusal(op, r) for r in refused]
    if not refusals:
        return JSONResponse(counts)
    statuses = {r["status"] for r in refusals}
    status = statuses.pop() if len(statuses) == 1 else 400
    first = refusals[0]
    message = (
        f"{len(refusals)} of {len(posts) + len(patches)} runs refused (the others are "
        f"stored); first: {first['op']}[{first['index']}] run {first['id']}: {first['detail']}"
    )
    return error_response(
        status,
        "runs_refused",
        message,
        details={"stored": counts, "refused": refusals},
    )


async def as_langsmith(stores: Stores, project_id: str, runs: list[Run]) -> list[dict[str, Any]]:
    """Runs as LangSmith's, with their tracing projects' names."""
    ids = list({r.tracing_project_id for r in runs if r.tracing_project_id})
    names = {t.id: t.name for t in await stores.tracing_projects.get_many(project_id, ids)}
    return [run_mapping.to_json(r, names.get(r.tracing_project_id or "")) for r in runs]


async def multipart(request: Request) -> Response:
    return error_response(
        404,
        "not_found",
        "Plaudit does not take multipart run ingestion; send runs to /runs/batch "
        "(GET /info says so with use_multipart_endpoint: false)",
    )


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    run_id = v.check_uuid(request.path_params["run_id"], "run_id")
    run = await services(request).stores.runs.get(who.project_id, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return JSONResponse((await as_langsmith(services(request).stores, who.project_id, [run]))[0])


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
    if sessions is not None and len(set(sessions)) != 1:
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
        tracing_project_id=v.check_uuid(sessions[0], "session") if sessions else None,
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
            "runs": await as_langsmith(services(request).stores, who.project_id, page.items),
            "cursors": {"next": page.end_cursor if page.has_next_page else None},
        }
    )
