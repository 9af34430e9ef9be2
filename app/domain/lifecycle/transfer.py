"""Moving a project between Plaudit instances (or from the embedded store to a
MongoDB server): `plaudit dump` writes every collection's documents of one
project, ids, times and history included; `plaudit load` writes them into another
database, replacing by id, then rebuilds the project's rollups. The file format is
app/store/dump.py's."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.projects import find_project
from app.errors import BadRequest, Conflict
from app.store import Stores
from app.store import dump as dump_format
from app.store.dump import Header, Position

LOAD_BATCH = 500

Progress = Callable[[int], object]


@dataclass(frozen=True)
class DumpPlan:
    """What a dump (or the rest of one) will write."""

    header: Header
    after: Position | None
    total: int


async def plan_dump(stores: Stores, project_name: str, written: list[str]) -> DumpPlan:
    """The dump of ``project_name``, continuing after ``written`` (the whole lines
    of a dump cut short: the header and the last document line suffice)."""
    project = await find_project(stores, project_name)
    header = Header(project_id=project.id, project_name=project.name)
    after = None
    if written:
        if dump_format.decode_header(written[0]).project_id != project.id:
            raise BadRequest("the file is a dump of another project")
        if len(written) > 1:
            collection, doc = dump_format.decode(written[-1], len(written))
            after = Position(collection, doc["_id"])
    return DumpPlan(header=header, after=after, total=await stores.dumps.count(project.id))


async def write_dump(
    stores: Stores, plan: DumpPlan, emit: Callable[[str], object], progress: Progress
) -> int:
    """Emit the header (unless continuing) and every document line; returns how
    many documents were written."""
    if plan.after is None:
        emit(dump_format.encode_header(plan.header))
    count = 0
    async for collection, doc in stores.dumps.documents(plan.header.project_id, plan.after):
        emit(dump_format.encode(collection, doc))
        count += 1
        progress(1)
    return count


async def load_dump(
    stores: Stores,
    lines: Iterable[str],
    *,
    skip: int = 0,
    checkpoint: Callable[[int], object] = lambda _: None,
    progress: Progress = lambda _: None,
) -> Header:
    """Load a dump's lines (the header first). Lines 2..``skip`` were loaded by an
    earlier run and are passed over; ``checkpoint(n)`` is told after each batch
    that lines up to n are in. Rollups are rebuilt at the end."""
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        raise BadRequest("the dump is empty")
    header = dump_format.decode_header(first)
    existing = await stores.projects.by_name(header.project_name)
    if existing is not None and existing.id != header.project_id:
        raise Conflict(
            f"a different project named {header.project_name!r} exists here; "
            "rename one of them first"
        )
    batch: list[tuple[str, dict[str, Any]]] = []
    number = 1
    for number, line in enumerate(iterator, start=2):
        if number <= skip:
            progress(1)
            continue
        if not line.strip():
            continue
        batch.append(dump_format.decode(line, number))
        if len(batch) >= LOAD_BATCH:
            await stores.dumps.load(batch)
            progress(len(batch))
            checkpoint(number)
            batch = []
    if batch:
        await stores.dumps.load(batch)
        progress(len(batch))
    checkpoint(number)
    stores.projects.forget(header.project_id)
    await rebuild_rollups(stores, header.project_id)
    return header
