"""`plaudit import langsmith`: history from elsewhere, keeping its times."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from app.cli.common import with_stores
from app.compat.langfuse.imports import import_langfuse_scores
from app.compat.langsmith.imports import import_langsmith
from app.domain.lifecycle.imports import Imported
from app.domain.projects import find_project
from app.store import Stores


def read_items(path: Path, unwrap: str | None = None) -> list[Any]:
    """The objects of a JSON array, or of JSON lines (one object a line); with
    ``unwrap``, also of a page object's list under that name (``{"data": [...]}``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc.strerror}") from None
    try:
        if unwrap is not None and text.lstrip().startswith("{"):
            with contextlib.suppress(ValueError):  # not one object: JSON lines
                page = json.loads(text)
                if isinstance(page, dict) and isinstance(page.get(unwrap), list):
                    return list(page[unwrap])
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

    _report(with_stores(run), "{runs} runs and {feedback} feedback imported")


@import_group.command("langfuse")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
def import_langfuse_command(project_name: str, files: tuple[Path, ...], progress: bool) -> None:
    """Import scores from Langfuse exports (what GET /api/public/scores gives: an
    array, its `data`, or one score a line) as feedback on runs already here.
    Importing again changes nothing."""

    async def run(stores: Stores) -> Imported:
        project = await find_project(stores, project_name)
        items = [item for path in files for item in read_items(path, unwrap="data")]
        with tqdm(total=len(items), unit=" scores", file=sys.stderr, disable=not progress) as bar:
            return await import_langfuse_scores(stores, project.id, items, lambda n: bar.update(n))

    _report(with_stores(run), "{feedback} scores imported")


def _report(result: Imported, summary: str) -> None:
    click.echo(summary.format(runs=result.runs, feedback=result.feedback))
    if result.skipped:
        click.echo(f"  {result.skipped} already here, left as they are")
    for index, reason in result.refused:
        click.echo(f"  item {index + 1} not imported: {reason}")
