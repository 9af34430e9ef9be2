"""``/examples``: a dataset's examples (app/domain/datasets.py).

``create_example`` (POST /examples), ``create_examples`` (POST /examples/bulk),
``list_examples`` (``dataset``, ``id``, ``as_of``, ``splits``, ``metadata``,
offset pages), ``read_example`` (``as_of`` too), ``update_example`` (PATCH),
``update_examples`` (PATCH /examples/bulk), ``delete_example`` and
``delete_examples`` (DELETE /examples?example_ids=...).

A split is kept as the example's splits and read back, as LangSmith does, in its
metadata's ``dataset_split``. ``as_of`` is a time, ``latest``, or a Plaudit version
(``vN``). Attachments, ``filter`` and ``select`` are not supported (attachment
URLs read back as null)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.compat.langsmith.datasets import version_tag
from app.compat.langsmith.http import (
    endpoint,
    iso,
    json_body,
    parse_time,
    principal,
    query_int,
    query_list,
    query_object,
    services,
    validator,
)
from app.domain import datasets
from app.domain import validation as v
from app.domain.datasets import ExampleChange, NewExample
from app.errors import BadRequest
from app.store.datasets import Dataset, Example

ID = {"type": ["string", "null"]}
OBJECT = {"type": ["object", "null"]}
SPLIT = {"type": ["string", "array", "null"], "items": {"type": "string"}}
EXAMPLE_PROPERTIES: dict[str, Any] = {
    "id": ID,
    "dataset_id": ID,
    "inputs": OBJECT,
    "outputs": OBJECT,
    "metadata": OBJECT,
    "split": SPLIT,
    "source_run_id": ID,
    "created_at": {"type": ["string", "null"]},
}
ONE = {"type": "object", "properties": EXAMPLE_PROPERTIES}
CREATE = validator({**ONE, "required": ["dataset_id"]})
BULK = validator({"type": "array", "items": {**ONE, "required": ["dataset_id"]}})
UPDATE = validator(ONE)
BULK_UPDATE = validator({"type": "array", "items": {**ONE, "required": ["id"]}})
SPLIT_KEY = "dataset_split"
MAX_OFFSET = 1_000_000


def to_json(example: Example) -> dict[str, Any]:
    """LangSmith's Example; the splits in its metadata's ``dataset_split``."""
    content = example.content
    metadata = dict(content.metadata) if isinstance(content.metadata, dict) else {}
    metadata[SPLIT_KEY] = list(content.splits)
    return {
        "id": example.id,
        "dataset_id": example.dataset_id,
        "inputs": content.inputs,
        "outputs": content.outputs,
        "metadata": metadata,
        "created_at": iso(example.created_at),
        "modified_at": iso(example.modified_at),
        "source_run_id": content.source_run_id,
        "attachment_urls": None,
        "name": None,
    }


def _splits(body: dict[str, Any]) -> list[str] | None:
    """``split``, else a metadata ``dataset_split`` (what read examples carry)."""
    if body.get("split") is not None:
        return datasets.check_splits(body["split"])
    kept = (body.get("metadata") or {}).get(SPLIT_KEY)
    return datasets.check_splits(kept) if kept is not None else None


def _metadata(body: dict[str, Any]) -> Any:
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and SPLIT_KEY in metadata:
        metadata = {k: value for k, value in metadata.items() if k != SPLIT_KEY}
    return metadata


def _new(body: dict[str, Any]) -> NewExample:
    return NewExample(
        id=body.get("id"),
        inputs=body.get("inputs") if body.get("inputs") is not None else {},
        outputs=body.get("outputs"),
        metadata=_metadata(body),
        splits=_splits(body),
        source_run_id=body.get("source_run_id"),
    )


async def _create(request: Request, bodies: list[dict[str, Any]]) -> list[Example]:
    who = await principal(request, "ingest")
    dataset_ids = {v.check_uuid(b["dataset_id"], "dataset_id") for b in bodies}
    if len(dataset_ids) > 1:
        raise BadRequest("examples of one call must all be in one dataset", field="dataset_id")
    if not dataset_ids:
        raise BadRequest("no examples given")
    return await datasets.add_examples(
        services(request).stores, who.project_id, dataset_ids.pop(), [_new(b) for b in bodies]
    )


@endpoint
async def create(request: Request) -> Response:
    body = await json_body(request, CREATE)
    created = await _create(request, [body])
    return JSONResponse(to_json(created[0]))


@endpoint
async def create_bulk(request: Request) -> Response:
    body = await json_body(request, BULK)
    return JSONResponse([to_json(e) for e in await _create(request, body)])


def _change(body: dict[str, Any], example_id: str) -> ExampleChange:
    return ExampleChange(
        id=example_id,
        inputs=body.get("inputs"),
        outputs=body.get("outputs"),
        metadata=_metadata(body),
        splits=_splits(body),
    )


def _path_id(request: Request) -> str:
    return v.check_uuid(request.path_params["example_id"], "example_id")


@endpoint
async def update(request: Request) -> Response:
    who = await principal(request, "ingest")
    body = await json_body(request, UPDATE)
    changed = await datasets.update_examples(
        services(request).stores, who.project_id, [_change(body, _path_id(request))]
    )
    return JSONResponse(to_json(changed[0]))


@endpoint
async def update_bulk(request: Request) -> Response:
    who = await principal(request, "ingest")
    body = await json_body(request, BULK_UPDATE)
    changed = await datasets.update_examples(
        services(request).stores, who.project_id, [_change(b, b["id"]) for b in body]
    )
    return JSONResponse([to_json(e) for e in changed])


@endpoint
async def delete(request: Request) -> Response:
    who = await principal(request, "ingest")
    await datasets.delete_examples(services(request).stores, who.project_id, [_path_id(request)])
    return JSONResponse({})


@endpoint
async def delete_many(request: Request) -> Response:
    who = await principal(request, "ingest")
    ids = query_list(request, "example_ids") or []
    deleted = await datasets.delete_examples(services(request).stores, who.project_id, ids)
    return JSONResponse({"count": deleted})


def _as_of(request: Request, record: Dataset | None) -> int | datetime | None:
    raw = request.query_params.get("as_of")
    if not raw:
        return None
    if raw == "latest" or raw.startswith("v") or raw.isdigit():
        if record is None:
            raise BadRequest("as_of by version needs the dataset", field="as_of")
        return version_tag(raw, record)
    return parse_time(raw, "as_of")


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    stores = services(request).stores
    raw = request.query_params.get("as_of")
    as_of = parse_time(raw, "as_of") if raw else None
    found = await datasets.get_example(stores, who.project_id, _path_id(request), as_of)
    return JSONResponse(to_json(found))


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    stores = services(request).stores
    for unsupported in ("filter", "select"):
        if request.query_params.get(unsupported):
            raise BadRequest(f"{unsupported} is not supported by Plaudit", field=unsupported)
    limit = query_int(request, "limit", 100, 1, 100)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET)
    dataset_id = request.query_params.get("dataset")
    ids = query_list(request, "id")
    if dataset_id is None:
        if ids is None:
            raise BadRequest("give dataset (an id) or id (example ids)", field="dataset")
        current = await stores.datasets.current(
            who.project_id, [v.check_uuid(i, "id") for i in ids]
        )
        ordered = sorted(current, key=lambda e: (e.created_at, e.id))
        return JSONResponse([to_json(e) for e in ordered[offset : offset + limit]])
    record = await datasets.get_dataset(stores, who.project_id, dataset_id)
    query = await datasets.example_query(
        stores,
        record,
        as_of=_as_of(request, record),
        splits=query_list(request, "splits"),
        ids=ids,
        metadata=query_object(request, "metadata"),
    )
    found = await stores.datasets.list_examples(record.id, query, offset, limit)
    return JSONResponse([to_json(e) for e in found])
