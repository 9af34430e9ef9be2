"""`plaudit export FORMAT --project P --out FILE`, with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import click
from tqdm import tqdm

from app.cli.common import with_stores
from app.domain.export.formats import prepare_export
from app.domain.export.options import FORMATS, parse_options
from app.domain.export.stream import encode_line
from app.domain.projects import find_project
from app.store import Stores


async def write_export(
    stores: Stores,
    project_name: str,
    options_args: dict[str, str | None],
    fmt: str,
    out: IO[bytes],
    progress: bool = True,
) -> int:
    """Write the export to ``out`` line by line; returns the number of records."""
    project = await find_project(stores, project_name)
    options = parse_options(fmt, **options_args)
    export = await prepare_export(stores, project.id, options)
    count = 0
    with tqdm(total=export.total, unit=" records", file=sys.stderr, disable=not progress) as bar:
        async for record in export.records():
            out.write(encode_line(record))
            count += 1
            bar.update(1)
    return count


@click.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMATS))
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--key", default=None, help="Only feedback and preferences on this key.")
@click.option("--since", default=None, help="Only records created since (ISO 8601).")
@click.option(
    "--sources",
    default=None,
    help="dpo: preferences,edits,feedback; sft: corrections,edits (default: all).",
)
@click.option(
    "--group-by",
    default=None,
    help="regressions: the error-mode feedback key, or '<task name>.<field>'.",
)
@click.option(
    "--max-pairs-per-prompt",
    default=None,
    type=int,
    help="dpo from feedback: pairs per prompt and key (default 10).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The JSON Lines file to write ('-' for standard output).",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def export(
    fmt: str,
    project_name: str,
    key: str | None,
    since: str | None,
    sources: str | None,
    group_by: str | None,
    max_pairs_per_prompt: int | None,
    out: str,
    progress: bool,
) -> None:
    """Export training data as JSON Lines: dpo, sft, feedback or regressions."""
    args: dict[str, str | None] = {
        "key": key,
        "since": since,
        "sources": sources,
        "group_by": group_by,
        "max_pairs_per_prompt": str(max_pairs_per_prompt)
        if max_pairs_per_prompt is not None
        else None,
    }
    if out == "-":
        stdout = sys.stdout.buffer
        count = with_stores(
            lambda stores: write_export(stores, project_name, args, fmt, stdout, progress)
        )
        click.echo(f"exported {count} records", err=True)
        return
    # Write beside the target and move into place at the end, so a failed export
    # never leaves a half-written file under the name asked for.
    target = Path(out)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as fh:
            count = with_stores(
                lambda stores: write_export(stores, project_name, args, fmt, fh, progress)
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"exported {count} records to {target}", err=True)
