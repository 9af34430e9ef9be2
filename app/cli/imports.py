"""`plaudit import langsmith`: history from elsewhere, keeping its times."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from app.cli.common import with_stores
from app.compat.langsmith.imports import Imported, import_langsmith
from app.domain.projects import find_project
from app.store import Stores


def read_items(path: Path) -> list[Any]:
    """The objects of a JSON array, or of JSON lines (one object a line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from None
    try:
        if text.lstrip().startswith("["):
            items = json.loads(text)
            if not isinstance(items, list):
                raise ValueError("not a list")
            return items
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise click.ClickException(
            f"{path}: not a JSON array or JSON lines of objects ({exc})"
        ) from None


@click.group("import")
def import_group() -> None:
    """Import history from other tools, keeping its original times."""


@import_group.command("langsmith")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
def import_langsmith_command(project_name: str, files: tuple[Path, ...], progress: bool) -> None:
    """Import runs and feedback from LangSmith exports: FILES hold what the SDK's
    list_runs and list_feedback give, as JSON (an array, or one object a line).
    Importing again changes nothing."""

    async def run(stores: Stores) -> Imported:
        project = await find_project(stores, project_name)
        items = [item for path in files for item in read_items(path)]
        with tqdm(total=len(items), unit=" records", file=sys.stderr, disable=not progress) as bar:
            return await import_langsmith(stores, project.id, items, lambda n: bar.update(n))

    result = with_stores(run)
    click.echo(f"{result.runs} runs and {result.feedback} feedback imported")
    if result.skipped:
        click.echo(f"  {result.skipped} already here, left as they are")
    for index, reason in result.refused:
        click.echo(f"  item {index + 1} not imported: {reason}")
