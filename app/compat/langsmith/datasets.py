"""``/datasets``: LangSmith datasets, which are Plaudit datasets (app/domain/datasets.py).

``create_dataset``, ``read_dataset`` (by name or id), ``list_datasets`` (``name``,
``name_contains``, ``id``, ``metadata``, offset pages), ``update_dataset`` (PATCH),
``delete_dataset``, and the versions: ``list_dataset_versions`` and
``read_dataset_version(as_of=...)``. Every dataset is a key-value dataset
(``data_type: kv``); ``transformations`` and tags are not kept."""

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
    query_int,
    query_list,
    query_object,
    services,
    validator,
)
from app.domain import datasets
from app.domain import validation as v
from app.errors import BadRequest
from app.store import Stores
from app.store.datasets import Dataset

TEXT = {"type": ["string", "null"]}
SCHEMA = {"type": ["object", "null"]}
CREATE = validator(
    {
        "type": "object",
        "required": ["name"],
        "properties": {
            "id": TEXT,
            "name": {"type": "string"},
            "description": TEXT,
            "data_type": {"enum": ["kv", None]},
            "extra": {"type": ["object", "null"]},
            "metadata": {"type": ["object", "null"]},
            "inputs_schema_definition": SCHEMA,
            "outputs_schema_definition": SCHEMA,
        },
    }
)
UPDATE = validator(
    {
        "type": "object",
        "properties": {
            "name": TEXT,
            "description": TEXT,
            "metadata": {"type": ["object", "null"]},
            "inputs_schema_definition": SCHEMA,
            "outputs_schema_definition": SCHEMA,
        },
    }
)
# Offset pages walk the project's datasets newest first; past this many a list is
# refused rather than read whole (GraphQL's datasets pages by keyset).
MAX_LISTED = 10_000


async def to_json(stores: Stores, record: Dataset) -> dict[str, Any]:
    """LangSmith's Dataset, with the current example count and experiments."""
    experiments = await stores.tracing_projects.experiments(record.project_id, record.id, 1_000)
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "data_type": "kv",
        "created_at": iso(record.created_at),
        "modified_at": iso(record.modified_at),
        "example_count": await stores.datasets.count_examples(record.id),
        "session_count": len(experiments),
        "last_session_start_time": iso(max((e.start_time for e in experiments), default=None)),
        "inputs_schema_definition": record.inputs_schema,
        "outputs_schema_definition": record.outputs_schema,
        "metadata": record.metadata,
        "tenant_id": record.project_id,
        "transformations": None,
        # Plaudit's own: the dataset's current version.
        "version": record.version,
    }


def _metadata(body: dict[str, Any]) -> Any:
    """The SDK sends the metadata inside ``extra``."""
    if body.get("metadata") is not None:
        return body["metadata"]
    extra = body.get("extra") or {}
    return extra.get("metadata")


@endpoint
async def create(request: Request) -> Response:
    who = await principal(request, "ingest")
    body = await json_body(request, CREATE)
    stores = services(request).stores
    record = await datasets.create_dataset(
        stores,
        who.project_id,
        body["name"],
        dataset_id=body.get("id"),
        description=body.get("description"),
        metadata=_metadata(body),
        inputs_schema=body.get("inputs_schema_definition"),
        outputs_schema=body.get("outputs_schema_definition"),
    )
    return JSONResponse(await to_json(stores, record))


@endpoint
async def list_(request: Request) -> Response:
    who = await principal(request, "read")
    stores = services(request).stores
    limit = query_int(request, "limit", 100, 1, 100)
    offset = query_int(request, "offset", 0, 0, MAX_LISTED)
    metadata = query_object(request, "metadata")
    data_type = request.query_params.get("data_type")
    if data_type is not None and data_type != "kv":
        return JSONResponse([])
    ids = query_list(request, "id")
    name = request.query_params.get("name")
    found: list[Dataset]
    if ids is not None:
        found = await stores.datasets.get_many(who.project_id, [v.check_uuid(i, "id") for i in ids])
    elif name is not None:
        one = await stores.datasets.by_name(who.project_id, name)
        found = [one] if one else []
    else:
        found = await stores.datasets.newest_first(who.project_id, MAX_LISTED + 1)
        if len(found) > MAX_LISTED:
            raise BadRequest(
                f"this project has more than {MAX_LISTED} datasets; "
                "list them with GraphQL's datasets (keyset pages), or ask by name or id"
            )
    chosen = [r for r in found if listing_matches(request, r.name, r.metadata, metadata)][
        offset : offset + limit
    ]
    return JSONResponse([await to_json(stores, r) for r in chosen])


def path_id(request: Request) -> str:
    return v.check_uuid(request.path_params["dataset_id"], "dataset_id")


@endpoint
async def read(request: Request) -> Response:
    who = await principal(request, "read")
    stores = services(request).stores
    record = await datasets.get_dataset(stores, who.project_id, path_id(request))
    return JSONResponse(await to_json(stores, record))


@endpoint
async def update(request: Request) -> Response:
    """Fields sent as null keep their value."""
    who = await principal(request, "admin")
    body = await json_body(request, UPDATE)
    names = {
        "name": "name",
        "description": "description",
        "metadata": "metadata",
        "inputs_schema_definition": "inputs_schema",
        "outputs_schema_definition": "outputs_schema",
    }
    changes = {ours: body[theirs] for theirs, ours in names.items() if body.get(theirs) is not None}
    stores = services(request).stores
    record = await datasets.update_dataset(stores, who.project_id, path_id(request), changes)
    return JSONResponse(await to_json(stores, record))


@endpoint
async def delete(request: Request) -> Response:
    who = await principal(request, "admin")
    await datasets.delete_dataset(services(request).stores, who.project_id, path_id(request))
    return JSONResponse({})


@endpoint
async def versions(request: Request) -> Response:
    """LangSmith's DatasetVersion list, newest first: ``as_of`` is when each
    version was made; ``tags`` are Plaudit's version numbers (``v3``)."""
    who = await principal(request, "read")
    stores = services(request).stores
    record = await datasets.get_dataset(stores, who.project_id, path_id(request))
    limit = query_int(request, "limit", 100, 1, 100)
    offset = query_int(request, "offset", 0, 0, MAX_LISTED)
    found = await stores.datasets.version_list(record.id, offset + limit)
    return JSONResponse(
        [{"as_of": iso(ver.at), "tags": [f"v{ver.version}"]} for ver in found[offset:]]
    )


@endpoint
async def version(request: Request) -> Response:
    """The version current at ``as_of`` (a time), or ``tag`` ``latest``/``vN``."""
    who = await principal(request, "read")
    stores = services(request).stores
    record = await datasets.get_dataset(stores, who.project_id, path_id(request))
    as_of = request.query_params.get("as_of")
    tag = request.query_params.get("tag")
    if as_of:
        number = await stores.datasets.version_at(record.id, parse_time(as_of, "as_of"))
    elif tag:
        number = await datasets.version_of(stores, record, version_tag(tag, record))
    else:
        raise BadRequest("give as_of (a time) or tag (latest, or vN)", field="as_of")
    at = await stores.datasets.version_time(record.id, number) or record.created_at
    return JSONResponse({"as_of": iso(at), "tags": [f"v{number}"]})


def version_tag(tag: str, record: Dataset) -> int:
    """``latest``, ``vN`` or ``N``: a version number."""
    if tag == "latest":
        return record.version
    digits = tag[1:] if tag.startswith("v") else tag
    if not digits.isdigit():
        raise BadRequest(
            f"unknown dataset version {tag[:40]!r}: give latest, vN or a time", field="as_of"
        )
    return int(digits)
