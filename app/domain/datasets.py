"""Datasets: named sets of examples (inputs, reference outputs, metadata, splits,
an optional source run) that experiments run a target over.

Versioned: every change to a dataset's examples (added, changed, deleted) takes
the dataset's next version, and nothing is overwritten, so the examples "as of"
a version or a time are what was there then (app/store/datasets.py). A dataset's
own name, description, metadata and schemas are not versioned.

When a dataset has an inputs or outputs JSON schema, examples must match it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from app import clock
from app.domain import validation as v
from app.errors import BadRequest, Conflict, NotFound
from app.store import Stores
from app.store.datasets import Dataset, Example, ExampleContent, ExampleQuery, Revision

# Examples per call (the SDK sends up to 20 MB of them at once; the request body
# limit applies too).
MAX_EXAMPLES_PER_CALL = 5_000
MAX_SPLITS = 20
DEFAULT_SPLIT = "base"


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name must be a non-empty string", field="name")
    checked = v.check_text(name, "name")
    assert checked is not None
    return checked


def _check_schema(schema: Any, field: str) -> Any:
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise BadRequest(f"{field} must be a JSON schema (an object)", field=field)
    v.check_json(schema, field, v.MAX_METADATA_BYTES)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise BadRequest(
            f"{field} is not a valid JSON schema: {exc.message}", field=field
        ) from None
    return schema


def _check_metadata(metadata: Any, field: str = "metadata") -> Any:
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest(f"{field} must be an object", field=field)
    return v.check_json(metadata, field, v.MAX_METADATA_BYTES)


async def create_dataset(
    stores: Stores,
    project_id: str,
    name: Any,
    *,
    dataset_id: str | None = None,
    description: str | None = None,
    metadata: Any = None,
    inputs_schema: Any = None,
    outputs_schema: Any = None,
) -> Dataset:
    """Raises Conflict when the project has a dataset of that name."""
    return await stores.datasets.create(
        project_id,
        check_name(name),
        clock.now(),
        dataset_id=v.check_uuid(dataset_id, "id") if dataset_id else None,
        description=v.check_text(description, "description", v.MAX_COMMENT_CHARS),
        metadata=_check_metadata(metadata),
        inputs_schema=_check_schema(inputs_schema, "inputs_schema"),
        outputs_schema=_check_schema(outputs_schema, "outputs_schema"),
    )


async def get_dataset(stores: Stores, project_id: str, dataset_id: str) -> Dataset:
    found = await stores.datasets.get(project_id, v.check_uuid(dataset_id, "dataset_id"))
    if found is None:
        raise NotFound(f"dataset {dataset_id} not found")
    return found


async def dataset_by_name(stores: Stores, project_id: str, name: str) -> Dataset:
    found = await stores.datasets.by_name(project_id, name)
    if found is None:
        raise NotFound(f"dataset {name!r} not found")
    return found


CHANGEABLE = ("name", "description", "metadata", "inputs_schema", "outputs_schema")


def _check_change(name: str, value: Any) -> Any:
    if name == "name":
        return check_name(value)
    if name == "description":
        return v.check_text(value, "description", v.MAX_COMMENT_CHARS)
    if name == "metadata":
        return _check_metadata(value)
    return _check_schema(value, name)


async def update_dataset(
    stores: Stores, project_id: str, dataset_id: str, changes: dict[str, Any]
) -> Dataset:
    """Change ``name``, ``description``, ``metadata``, ``inputs_schema`` or
    ``outputs_schema`` (not versioned: examples are)."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise BadRequest(f"cannot change {', '.join(sorted(unknown))}")
    checked = {name: _check_change(name, value) for name, value in changes.items()}
    if not checked:
        return await get_dataset(stores, project_id, dataset_id)
    updated = await stores.datasets.update(project_id, dataset_id, checked)
    if updated is None:
        raise NotFound(f"dataset {dataset_id} not found")
    return updated


async def delete_dataset(stores: Stores, project_id: str, dataset_id: str) -> None:
    """The dataset and every version of its examples. Experiments on it stay
    (their runs are runs), pointing to a dataset that is gone."""
    if not await stores.datasets.delete(project_id, v.check_uuid(dataset_id, "dataset_id")):
        raise NotFound(f"dataset {dataset_id} not found")


# ---- Examples


@dataclass(frozen=True)
class NewExample:
    inputs: Any
    outputs: Any = None
    metadata: Any = None
    splits: list[str] | None = None
    source_run_id: str | None = None
    feedback_ids: list[str] | None = None
    id: str | None = None


@dataclass(frozen=True)
class ExampleChange:
    """Fields left None keep their value."""

    id: str
    inputs: Any = None
    outputs: Any = None
    metadata: Any = None
    splits: list[str] | None = None


def check_splits(raw: Any) -> list[str] | None:
    """A split or a list of them; None when not given."""
    if raw is None:
        return None
    splits = [raw] if isinstance(raw, str) else raw
    if not isinstance(splits, list) or not all(isinstance(s, str) and s for s in splits):
        raise BadRequest("split must be a name or a list of names", field="split")
    if len(splits) > MAX_SPLITS:
        raise BadRequest(f"an example can be in at most {MAX_SPLITS} splits", field="split")
    for split in splits:
        v.check_text(split, "split", 100)
    return list(dict.fromkeys(splits)) or [DEFAULT_SPLIT]


def _schema_check(schema: Any, value: Any, field: str, index: int) -> None:
    if schema is None:
        return
    error = best_match(Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "".join(f".{p}" for p in error.absolute_path)
        raise BadRequest(
            f"example {index}: {field}{where} does not match the dataset's schema: "
            f"{error.message[:300]}",
            field=field,
        )


def _content(dataset: Dataset, index: int, example: NewExample | ExampleContent) -> ExampleContent:
    if not isinstance(example.inputs, dict):
        raise BadRequest(f"example {index}: inputs must be an object", field="inputs")
    if example.outputs is not None and not isinstance(example.outputs, dict):
        raise BadRequest(f"example {index}: outputs must be an object", field="outputs")
    v.check_json(example.inputs, "inputs")
    v.check_json(example.outputs, "outputs")
    _check_metadata(example.metadata)
    _schema_check(dataset.inputs_schema, example.inputs, "inputs", index)
    if example.outputs is not None:
        _schema_check(dataset.outputs_schema, example.outputs, "outputs", index)
    return ExampleContent(
        inputs=example.inputs,
        outputs=example.outputs,
        metadata=example.metadata,
        splits=(check_splits(example.splits) if example.splits else None) or [DEFAULT_SPLIT],
        source_run_id=(
            v.check_uuid(example.source_run_id, "source_run_id") if example.source_run_id else None
        ),
        feedback_ids=list(example.feedback_ids or []),
    )


def _check_count(n: int) -> None:
    if n == 0:
        raise BadRequest("no examples given")
    if n > MAX_EXAMPLES_PER_CALL:
        raise BadRequest(f"at most {MAX_EXAMPLES_PER_CALL} examples per call, got {n}")


async def add_examples(
    stores: Stores, project_id: str, dataset_id: str, examples: list[NewExample]
) -> list[Example]:
    """Add examples to a dataset, as one new version. All or nothing: a bad
    example refuses the call before anything is written."""
    _check_count(len(examples))
    dataset = await get_dataset(stores, project_id, dataset_id)
    revisions: list[Revision] = []
    for index, example in enumerate(examples):
        example_id = v.check_uuid(example.id, "id") if example.id else str(uuid.uuid4())
        revisions.append(Revision(example_id, _content(dataset, index, example)))
    ids = [r.example_id for r in revisions]
    if len(set(ids)) != len(ids):
        raise BadRequest("an example id appears twice in one call", field="id")
    existing = await stores.datasets.current(project_id, ids)
    if existing:
        raise Conflict(f"example id {existing[0].id} is taken", field="id")
    return await _write(stores, dataset, revisions)


async def _write(stores: Stores, dataset: Dataset, revisions: list[Revision]) -> list[Example]:
    now = clock.now()
    version = await stores.datasets.next_version(dataset.project_id, dataset.id, now)
    if version is None:
        raise NotFound(f"dataset {dataset.id} not found")
    return await stores.datasets.add_revisions(dataset, version, now, revisions)


async def update_examples(
    stores: Stores, project_id: str, changes: list[ExampleChange]
) -> list[Example]:
    """Change examples (a new version of each dataset they are in); fields not
    given keep their value."""
    _check_count(len(changes))
    ids = [v.check_uuid(c.id, "id") for c in changes]
    current = {e.id: e for e in await stores.datasets.current(project_id, ids)}
    missing = [i for i in ids if i not in current]
    if missing:
        raise NotFound(f"example {missing[0]} not found")
    by_dataset: dict[str, list[Revision]] = defaultdict(list)
    datasets: dict[str, Dataset] = {}
    for index, (example_id, change) in enumerate(zip(ids, changes, strict=True)):
        stored = current[example_id]
        if stored.dataset_id not in datasets:
            datasets[stored.dataset_id] = await get_dataset(stores, project_id, stored.dataset_id)
        merged = replace(
            stored.content,
            **{
                name: getattr(change, name)
                for name in ("inputs", "outputs", "metadata", "splits")
                if getattr(change, name) is not None
            },
        )
        content = _content(datasets[stored.dataset_id], index, merged)
        by_dataset[stored.dataset_id].append(
            Revision(example_id, content, stored.created_at, stored.order)
        )
    written: list[Example] = []
    for dataset_id, revisions in by_dataset.items():
        written += await _write(stores, datasets[dataset_id], revisions)
    return written


async def delete_examples(stores: Stores, project_id: str, example_ids: list[str]) -> int:
    """Delete examples from the current version (earlier versions keep them)."""
    _check_count(len(example_ids))
    ids = [v.check_uuid(i, "example_id") for i in example_ids]
    current = await stores.datasets.current(project_id, ids)
    if len(current) < len(set(ids)):
        found = {e.id for e in current}
        raise NotFound(f"example {next(i for i in ids if i not in found)} not found")
    by_dataset: dict[str, list[str]] = defaultdict(list)
    for example in current:
        by_dataset[example.dataset_id].append(example.id)
    deleted = 0
    now = clock.now()
    for dataset_id, ids_in in by_dataset.items():
        version = await stores.datasets.next_version(project_id, dataset_id, now)
        if version is not None:
            deleted += await stores.datasets.end_revisions(dataset_id, ids_in, version)
    return deleted


async def get_example(
    stores: Stores, project_id: str, example_id: str, as_of: int | datetime | None = None
) -> Example:
    example_id = v.check_uuid(example_id, "example_id")
    current = await stores.datasets.current(project_id, [example_id])
    found: Example | None = current[0] if current else None
    if as_of is not None:
        found = None
        # The example may be deleted now: find its dataset through any revision.
        any_revision = await stores.datasets.any_revision(project_id, example_id)
        if any_revision is not None:
            dataset = await get_dataset(stores, project_id, any_revision.dataset_id)
            version = await version_of(stores, dataset, as_of)
            found = await stores.datasets.as_of_example(project_id, example_id, version)
    if found is None:
        raise NotFound(f"example {example_id} not found")
    return found


async def version_of(stores: Stores, dataset: Dataset, as_of: int | datetime) -> int:
    """A version number, or the one current at a time."""
    if isinstance(as_of, datetime):
        return await stores.datasets.version_at(dataset.id, as_of)
    if as_of < 0 or as_of > dataset.version:
        raise BadRequest(
            f"as_of: dataset {dataset.name!r} has versions 0 to {dataset.version}, not {as_of}",
            field="as_of",
        )
    return as_of


async def example_query(
    stores: Stores,
    dataset: Dataset,
    *,
    as_of: int | datetime | None = None,
    splits: list[str] | None = None,
    ids: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> ExampleQuery:
    return ExampleQuery(
        as_of=await version_of(stores, dataset, as_of) if as_of is not None else None,
        splits=splits or None,
        ids=[v.check_uuid(i, "id") for i in ids] if ids is not None else None,
        metadata=metadata,
    )
