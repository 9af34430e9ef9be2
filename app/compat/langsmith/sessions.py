"""``/sessions``: LangSmith projects, which are Plaudit's tracing projects (groups
of runs inside the API key's project; app/domain/tracing_projects.py).

``create_project``, ``read_project`` (by name or id, ``include_stats``),
``list_projects`` (``name``, ``name_contains``, ``id``, ``metadata``, offset
pages), ``update_project`` and ``delete_project`` (refused while it has runs).
``tenant_id`` is the Plaudit project's id. An experiment is a tracing project
with a ``reference_dataset_id`` (a Plaudit dataset of the same project); list a
dataset's experiments with ``reference_dataset``. ``num_examples``,
``num_repetitions`` and ``evaluator_keys`` are accepted and not kept."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith.http import (
    endpoint,
    iso,
    json_body,
    listing_matches,
    parse_time,
    principal,
    query_bool,
    query_int,
    query_list,
    query_object,
    services,
    validator,
)
from app.domain import tracing_projects
from app.domain import validation as v
from app.domain.tracing_projects import TracingProjectStats
from app.errors import BadRequest
from app.store import Stores
from app.store.tracing_projects import TracingProject

TIME = {"type": ["string", "number", "null"]}
TEXT = {"type": ["string", "null"]}
CREATE = validator(
    {
        "type": "object",
        "required": ["name"],
        "properties": {
            "id": TEXT,
            "name": {"type": "string"},
            "description": TEXT,
            "extra": {"type": ["object", "null"]},
            "start_time": TIME,
            "end_time": TIME,
            "reference_dataset_id": TEXT,
            "num_examples": {"type": ["integer", "null"]},
            "num_repetitions": {"type": ["integer", "null"]},
            "evaluator_keys": {"type": ["array", "null"]},
        },
    }
)
UPDATE = validator(
    {
        "type": "object",
        "properties": {
            "name": TEXT,
            "description": TEXT,
            "extra": {"type": ["object", "null"]},
            "end_time": TIME,
        },
    }
)
# Offset pages walk the project's tracing projects newest first; past this many
# (far more than a project has) a list is refused rather than read whole.
MAX_LISTED = 10_000


def to_json(record: TracingProject, counted: TracingProjectStats | None) -> dict[str, Any]:
    """LangSmith's TracerSessionResult. Run count and last run start come with
    every read; the other statistics with ``include_stats`` (null otherwise, and
    above tracing_projects.STATS_MAX_RUNS runs)."""
    result: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "extra": record.extra,
        "start_time": iso(record.start_time),
        "end_time": iso(record.end_time),
        "tenant_id": record.project_id,
        "reference_dataset_id": record.reference_dataset_id,
        "run_count": None,
        "last_run_start_time": None,
        "latency_p50": None,
        "latency_p99": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "total_tokens": None,
        "error_rate": None,
        "feedback_stats": None,
    }
    if counted is not None:
        result["run_count"] = counted.run_count
        result["last_run_start_time"] = iso(counted.last_run_start_time)
        result["latency_p50"] = counted.latency_p50_seconds
        result["latency_p99"] = counted.latency_p99_seconds
        result["prompt_tokens"] = counted.prompt_tokens
        result["completion_tokens"] = counted.completion_tokens
        result["total_tokens"] = counted.total_tokens
        result["error_rate"] = counted.error_rate
        if counted.feedback is not None:
            result["feedback_stats"] = {
                key: {"n": s.n, "avg": s.avg, "min": s.min, "max": s.max}
                for key, s in counted.feedback.items()
            }
    return result


async def _answer(
    stores: Stores, record: TracingProject, include_stats: bool | None
) -> dict[str, Any]:
    if include_stats:
        counted = await tracing_projects.stats(stores, record)
    else:
        counted = TracingProjectStats(
            run_count=await stores.runs.count_in_tracing_project(record.project_id, record.id),
            last_run_start_time=await stores.runs.last_start_in_tracing_project(
                record.project_id, record.id
            ),
        )
    return to_json(record, counted)


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    stores = services(request).stores
    limit = query_int(request, "limit", 100, 1, 100)
    offset = query_int(request, "offset", 0, 0, MAX_LISTED)
    include_stats = query_bool(request, "include_stats")
    metadata = query_object(request, "metadata")
    reference_free = query_bool(request, "reference_free")
    datasets = query_list(request, "reference_dataset")
    ids = query_list(request, "id")
    name = request.query_params.get("name")
    if datasets is not None:
        found = []
        for dataset_id in datasets:
            found += await stores.tracing_projects.experiments(
                who.project_id, v.check_uuid(dataset_id, "reference_dataset"), MAX_LISTED
            )
    elif ids is not None:
        found = await stores.tracing_projects.get_many(
            who.project_id, [v.check_uuid(i, "id") for i in ids]
        )
    elif name is not None:
        found = list((await stores.tracing_projects.by_names(who.project_id, [name])).values())
    else:
        found = await stores.tracing_projects.newest_first(who.project_id, MAX_LISTED + 1)
        if len(found) > MAX_LISTED:
            raise BadRequest(
                f"this project has more than {MAX_LISTED} tracing projects; "
                "list them with GraphQL's tracingProjects (keyset pages), or ask by name or id"
            )
    if reference_free is not None:
        found = [r for r in found if (r.reference_dataset_id is None) == reference_free]
    chosen = [
        r
        for r in found
        if listing_matches(
            request,
            r.name,
            r.extra.get("metadata") if isinstance(r.extra, dict) else None,
            metadata,
        )
    ][offset : offset + limit]
    return JSONResponse([await _answer(stores, r, include_stats) for r in chosen])


def _path_id(request: Request) -> str:
    return v.check_uuid(request.path_params["session_id"], "session_id")


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    stores = services(request).stores
    record = await tracing_projects.get(stores, who.project_id, _path_id(request))
    return JSONResponse(await _answer(stores, record, query_bool(request, "include_stats")))


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "ingest")
    body = await json_body(request, CREATE)
    stores = services(request).stores
    record = await tracing_projects.create(
        stores,
        who.project_id,
        body["name"],
        tracing_project_id=v.check_uuid(body["id"], "id") if body.get("id") else None,
        description=body.get("description"),
        extra=body.get("extra"),
        start_time=(
            parse_time(body["start_time"], "start_time") if body.get("start_time") else None
        ),
        end_time=parse_time(body["end_time"], "end_time") if body.get("end_time") else None,
        upsert=bool(query_bool(request, "upsert")),
        reference_dataset_id=body.get("reference_dataset_id"),
    )
    return JSONResponse(await _answer(stores, record, False))


@endpoint
async def update(request: Request) -> Response:
    """Fields sent as null (what the SDKs send for what is not changed) keep
    their value."""
    who = await principal(request, "admin")
    body = await json_body(request, UPDATE)
    changes = {
        name: body[name] for name in ("name", "description", "extra") if body.get(name) is not None
    }
    if body.get("end_time") is not None:
        changes["end_time"] = parse_time(body["end_time"], "end_time")
    stores = services(request).stores
    record = await tracing_projects.update(stores, who.project_id, _path_id(request), changes)
    return JSONResponse(await _answer(stores, record, False))


@endpoint
async def delete(request: Request) -> Response:
    who = await principal(request, "admin")
    await tracing_projects.delete(services(request).stores, who.project_id, _path_id(request))
    return JSONResponse({})
