"""``/runs``, ``/runs/batch``: what ``@traceable`` and ``Client.create_run``/
``update_run`` send, ingested by Plaudit's run domain into the API key's project.
Reading runs back: run_queries.py.

``POST /runs/multipart`` answers 404 on purpose: the SDK then falls back to
``/runs/batch`` (``GET /info`` already tells it to use that)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith import run_mapping
from app.compat.langsmith.http import (
    endpoint,
    error_response,
    json_body,
    principal,
    services,
    validator,
)
from app.domain import validation as v
from app.domain.missing import MISSING
from app.domain.runs import RejectedRun, RunWrite, ingest_each_run, ingest_runs
from app.errors import BadRequest, NotFound, PlauditError
from app.store import Stores
from app.store.runs import Run

BATCH = validator(
    {
        "type": "object",
        "properties": {
            "post": {"type": ["array", "null"], "items": run_mapping.RUN_SCHEMA},
            "patch": {"type": ["array", "null"], "items": run_mapping.RUN_SCHEMA},
        },
    }
)


async def prepare_runs(
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
    if create:
        await _place_in_traces(stores, project_id, [w for _, w in writes], stored)
    return writes, refused


async def _place_in_traces(
    stores: Stores, project_id: str, writes: list[RunWrite], stored: dict[str, Run]
) -> None:
    """Runs created without a dotted_order (create_run outside a trace) get one
    from their parent's, when the parent is in this call or stored: what
    read_run(load_child_runs=True) walks a trace by."""
    missing = [
        w
        for w in writes
        if w.dotted_order is MISSING and (w.id not in stored or not stored[w.id].dotted_order)
    ]
    known = {w.id: w.dotted_order for w in writes if isinstance(w.dotted_order, str)}
    parents = {w.parent_run_id for w in missing if isinstance(w.parent_run_id, str)}
    for run in await stores.runs.get_many(project_id, list(parents - set(known))):
        if run.dotted_order:
            known[run.id] = run.dotted_order
    # Parents first, whatever order the call has them in.
    while missing:
        placed = []
        for write in missing:
            start = write.start_time if isinstance(write.start_time, datetime) else None
            own = run_mapping.dotted_segment(start, write.id)
            parent = write.parent_run_id if isinstance(write.parent_run_id, str) else None
            if parent is None:
                write.dotted_order = own
            elif parent in known:
                write.dotted_order = f"{known[parent]}.{own}"
            else:
                continue
            known[write.id] = write.dotted_order
            placed.append(write)
        if not placed:
            return
        done = {id(w) for w in placed}
        missing = [w for w in missing if id(w) not in done]


async def _ingest_one(
    stores: Stores, project_id: str, run: dict[str, Any], *, create: bool
) -> None:
    writes, refused = await prepare_runs(stores, project_id, [run], create=create)
    if refused:
        raise refused[0].error
    await ingest_runs(stores, project_id, [write for _, write in writes])


async def _ingest_each(
    stores: Stores, project_id: str, runs: list[dict[str, Any]], *, create: bool
) -> tuple[int, list[RejectedRun]]:
    """Store each good run: how many were, and the refused ones."""
    writes, refused = await prepare_runs(stores, project_id, runs, create=create)
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
    # Plaudit's error body (error, message) with LangSmith's detail; the status is
    # the refusals' own when they agree.
    body = {"error": "runs_refused", "message": message, "detail": message}
    return JSONResponse({**body, "stored": counts, "refused": refusals}, status_code=status)


async def multipart(request: Request) -> Response:
    return error_response(
        NotFound(
            "Plaudit does not take multipart run ingestion; send runs to /runs/batch "
            "(GET /info says so with use_multipart_endpoint: false)"
        )
    )
