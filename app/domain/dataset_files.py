"""Datasets as JSON Lines: one example per line,
``{"id", "inputs", "outputs", "metadata", "splits", "source_run_id"}``.

An export reads a version (the current one by default); an import adds every line
as a new example of one new version (ids kept when free, else new ones)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import IO, Any

from app.domain import datasets
from app.domain.datasets import MAX_EXAMPLES_PER_CALL, NewExample
from app.errors import BadRequest
from app.store import Stores
from app.store.datasets import Example

PAGE = 500


def to_line(example: Example) -> str:
    c = example.content
    record = {
        "id": example.id,
        "inputs": c.inputs,
        "outputs": c.outputs,
        "metadata": c.metadata,
        "splits": list(c.splits),
        "source_run_id": c.source_run_id,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


async def export_jsonl(
    stores: Stores, project_id: str, name: str, out: IO[str], as_of: int | None = None
) -> int:
    dataset = await datasets.dataset_by_name(stores, project_id, name)
    query = await datasets.example_query(stores, dataset, as_of=as_of)
    written, offset = 0, 0
    while True:
        found = await stores.datasets.list_examples(dataset.id, query, offset, PAGE)
        for example in found:
            out.write(to_line(example))
        written += len(found)
        offset += len(found)
        if len(found) < PAGE:
            return written


def parse_lines(lines: Iterable[str]) -> list[NewExample]:
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record: Any = json.loads(line)
        except ValueError as exc:
            raise BadRequest(f"line {number}: not JSON ({exc})") from None
        if not isinstance(record, dict) or not isinstance(record.get("inputs"), dict):
            raise BadRequest(f"line {number}: an example needs inputs (an object)")
        examples.append(
            NewExample(
                id=record.get("id"),
                inputs=record["inputs"],
                outputs=record.get("outputs"),
                metadata=record.get("metadata"),
                splits=record.get("splits"),
                source_run_id=record.get("source_run_id"),
            )
        )
        if len(examples) > MAX_EXAMPLES_PER_CALL:
            raise BadRequest(f"at most {MAX_EXAMPLES_PER_CALL} examples per import")
    return examples


async def import_jsonl(stores: Stores, project_id: str, name: str, lines: Iterable[str]) -> int:
    examples = parse_lines(lines)
    dataset = await stores.datasets.by_name(project_id, name)
    if dataset is None:
        dataset = await datasets.create_dataset(stores, project_id, name)
    ids = [e.id for e in examples if e.id]
    taken = {e.id for e in await stores.datasets.current(project_id, ids)} if ids else set()
    fresh = [replace(e, id=None) if e.id in taken else e for e in examples]
    return len(await datasets.add_examples(stores, project_id, dataset.id, fresh))
