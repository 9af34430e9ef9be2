"""`plaudit dump` and `plaudit load`: a project to a file and back (see
app/domain/lifecycle/transfer.py), resumable, with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from app.cli.common import with_stores
from app.domain.lifecycle.transfer import load_dump, plan_dump, write_dump
from app.store import Stores
from app.store.dump import Header


def _whole_lines(path: Path) -> list[str]:
    """A partial dump's whole lines; a last line cut off mid-way is removed from
    the file, so the dump goes on from the line before it."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with path.open("r+b") as f:
            f.truncate(end)
    return data[:end].decode().splitlines()


@click.command("dump")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--resume", is_flag=True, help="Go on with a dump that was cut short.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
def dump(project_name: str, file: Path, resume: bool, progress: bool) -> None:
    """Write every record of a project (runs, feedback with its history, tasks,
    rules, keys, webhooks...) to FILE, one JSON document a line."""
    if file.exists() and not resume:
        raise click.ClickException(f"{file} exists: add --resume to go on with it, or remove it")
    written = _whole_lines(file) if resume and file.exists() else []

    async def run(stores: Stores) -> int:
        plan = await plan_dump(stores, project_name, written)
        done = max(len(written) - 1, 0)
        with (
            file.open("a", encoding="utf-8") as out,
            tqdm(
                total=plan.total,
                initial=min(done, plan.total),
                unit=" records",
                file=sys.stderr,
                disable=not progress,
            ) as bar,
        ):
            return await write_dump(
                stores, plan, lambda line: out.write(line + "\n"), lambda n: bar.update(n)
            )

    count = with_stores(run)
    click.echo(f"{count} records written to {file}")


@click.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
def load(file: Path, progress: bool) -> None:
    """Load a dump written by `plaudit dump` (into this instance's database), then
    rebuild the project's rollups. Loading again changes nothing; a load cut short
    goes on where it stopped (FILE.loaded remembers where)."""
    marker = file.with_name(file.name + ".loaded")
    skip = int(marker.read_text() or 0) if marker.exists() else 0
    with file.open(encoding="utf-8") as f:
        total = max(sum(1 for _ in f) - 1, 0)

    async def run(stores: Stores) -> Header:
        with (
            file.open(encoding="utf-8") as lines,
            tqdm(total=total, unit=" records", file=sys.stderr, disable=not progress) as bar,
        ):
            return await load_dump(
                stores,
                lines,
                skip=skip,
                checkpoint=lambda n: marker.write_text(str(n)),
                progress=lambda n: bar.update(n),
            )

    header = with_stores(run, create=True)
    marker.unlink(missing_ok=True)
    click.echo(f"project {header.project_name!r} loaded from {file}; rollups rebuilt")
