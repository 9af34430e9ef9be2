"""Reading runs: ``GET /runs/{id}`` (``read_run``) and ``POST /runs/query``
(``list_runs``, and ``read_run(load_child_runs=True)``, which lists a trace).

``/runs/query`` takes ``session`` (or ``session_id``: tracing project ids),
``id``, ``trace``, ``parent_run``, ``is_root``, ``run_type``, ``error``,
``start_time`` (runs starting then or later), ``filter`` (run_conditions.py),
``order`` (``desc``, the default, or ``asc`` by start time), ``select``,
``limit`` (a page: at most 100) and ``cursor``. Runs come in pages with a keyset
cursor (``cursors.next``), walked as app/domain/run_search.py says."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith import run_filters, run_mapping
from app.compat.langsmith.http import (
    endpoint,
    json_body,
    parse_time,
    principal,
    services,
    validator,
)
from app.domain import validation as v
from app.domain.run_search import search_runs
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.pagination import MAX_PAGE_SIZE
from app.store.runs import Run

IDS = {"type": ["array", "null"], "items": {"type": "string"}}
QUERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "session": IDS,
        "session_id": {"type": ["string", "array", "null"], "items": {"type": "string"}},
        "id": IDS,
        "trace": {"type": ["string", "null"]},
        "parent_run": {"type": ["string", "null"]},
        "is_root": {"type": ["boolean", "integer", "null"]},
        "run_type": {"type": ["string", "null"]},
        "error": {"type": ["boolean", "null"]},
        "start_time": {"type": ["string", "number", "null"]},
        "filter": {"type": ["string", "null"]},
        "order": {"enum": ["asc", "desc", None]},
        "limit": {"type": ["integer", "null"], "minimum": 1},
        "cursor": {"type": ["string", "null"]},
        "select": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}
QUERY = validator(QUERY_SCHEMA)
QUERY_FIELDS = frozenset(QUERY_SCHEMA["properties"])


async def as_langsmith(
    stores: Stores, project_id: str, runs: list[Run], select: list[str] | None = None
) -> list[dict[str, Any]]:
    """Runs as LangSmith's, with their tracing projects' names and their feedback
    statistics; only the ``select``ed fields (and the ones the SDKs need)."""
    ids = list({r.tracing_project_id for r in runs if r.tracing_project_id})
    names = {t.id: t.name for t in await stores.tracing_projects.get_many(project_id, ids)}
    stats: dict[str, dict[str, Any]] = defaultdict(dict)
    if runs and (select is None or "feedback_stats" in select):
        for row in await stores.feedback.stats_for_runs(project_id, [r.id for r in runs]):
            stats[row.run_id][row.key] = {
                "n": row.count,
                "avg": row.mean,
                "min": row.min,
                "max": row.max,
            }
    answers = [
        run_mapping.to_json(r, names.get(r.tracing_project_id or ""), stats.get(r.id, {}))
        for r in runs
    ]
    if select is None:
        return answers
    wanted = {*run_mapping.REQUIRED, *select}
    return [{k: x for k, x in answer.items() if k in wanted} for answer in answers]


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    run_id = v.check_uuid(request.path_params["run_id"], "run_id")
    stores = services(request).stores
    run = await stores.runs.get(who.project_id, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return JSONResponse((await as_langsmith(stores, who.project_id, [run]))[0])


def _ids(values: Any, name: str) -> list[str] | None:
    if values is None:
        return None
    listed = [values] if isinstance(values, str) else values
    return [v.check_uuid(x, name) for x in listed]


def query_args(body: dict[str, Any]) -> run_filters.QueryArgs:
    unsupported = sorted(k for k, value in body.items() if k not in QUERY_FIELDS and value)
    if unsupported:
        raise BadRequest(
            f"Plaudit's /runs/query does not support {', '.join(unsupported)}; it takes "
            f"{', '.join(sorted(QUERY_FIELDS))}",
            field=unsupported[0],
        )
    sessions = _ids(body.get("session"), "session")
    also = _ids(body.get("session_id"), "session_id")
    if also is not None:
        sessions = [*(sessions or []), *also]
    is_root = body.get("is_root")
    return run_filters.QueryArgs(
        sessions=sessions,
        ids=_ids(body.get("id"), "id"),
        trace=v.check_uuid(body["trace"], "trace") if body.get("trace") else None,
        parent_run=(
            v.check_uuid(body["parent_run"], "parent_run") if body.get("parent_run") else None
        ),
        is_root=bool(is_root) if is_root is not None else None,
        run_type=body.get("run_type"),
        error=body.get("error"),
        start_time=(
            parse_time(body["start_time"], "start_time") if body.get("start_time") else None
        ),
        filter=body.get("filter"),
        oldest_first=body.get("order") == "asc",
    )


def _select(body: dict[str, Any]) -> list[str] | None:
    select: list[str] | None = body.get("select")
    if select is None:
        return None
    unknown = sorted(set(select) - run_mapping.SELECTABLE)
    if unknown:
        raise BadRequest(
            f"select: unknown run field(s) {', '.join(unknown)}; Plaudit's are "
            f"{', '.join(sorted(run_mapping.SELECTABLE))}",
            field="select",
        )
    return select


@endpoint
async def query(request: Request) -> Response:
    who = await principal(request, "read")
    body = await json_body(request, QUERY)
    args = query_args(body)
    select = _select(body)
    stores = services(request).stores
    plan = run_filters.build(args)
    search = await run_filters.resolve(stores, who.project_id, plan)
    size = min(body.get("limit") or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    page = await search_runs(stores, who.project_id, search, size, body.get("cursor"))
    return JSONResponse(
        {
            "runs": await as_langsmith(stores, who.project_id, page.runs, select),
            "cursors": {"next": page.next_cursor},
        }
    )
