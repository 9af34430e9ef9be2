"""`plaudit datasets from-feedback | export | import`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from app import clock
from app.cli.common import with_stores
from app.domain import dataset_files, dataset_from_feedback
from app.domain.projects import find_project
from app.store import Stores


@click.group()
def datasets() -> None:
    """Datasets: examples that experiments run a target over."""


@datasets.command("from-feedback")
@click.argument("dataset")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--key", default=None, help="Runs with feedback on this key.")
@click.option("--min-score", type=float, default=None, help="That feedback's score >= this.")
@click.option(
    "--max-score",
    type=float,
    default=None,
    help="That feedback's score <= this (a thumbs-down: --max-score 0).",
)
@click.option("--with-correction", is_flag=True, help="Only runs that also have a correction.")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=None, help="Feedback of the last N days."
)
@click.option(
    "--limit",
    type=click.IntRange(1, dataset_from_feedback.MAX_FEEDBACK),
    default=1000,
    show_default=True,
    help="Add at most this many runs.",
)
def datasets_from_feedback(
    dataset: str,
    project_name: str,
    key: str | None,
    min_score: float | None,
    max_score: float | None,
    with_correction: bool,
    days: int | None,
    limit: int,
) -> None:
    """Build or extend DATASET (created when missing) from runs chosen by their
    feedback; run again, it adds only runs it has no example from yet."""
    scores = [("gte", min_score)] if min_score is not None else []
    scores += [("lte", max_score)] if max_score is not None else []
    selection = dataset_from_feedback.Selection(
        key=key,
        scores=tuple(scores),
        since=clock.now() - timedelta(days=days) if days else None,
        with_correction=with_correction,
        limit=limit,
    )

    async def run(stores: Stores) -> dataset_from_feedback.BuildResult:
        project = await find_project(stores, project_name)
        return await dataset_from_feedback.build(stores, project.id, dataset, selection)

    built = with_stores(run)
    click.echo(
        f"dataset {built.dataset.name} ({built.dataset.id}): added {built.added} examples, "
        f"{built.already_in} chosen runs already in it; version {built.dataset.version}"
    )


@datasets.command("export")
@click.argument("dataset")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--version", "as_of", type=click.IntRange(0), default=None, help="As of version.")
def datasets_export(dataset: str, project_name: str, out: Path, as_of: int | None) -> None:
    """Write DATASET's examples as JSON Lines (one example per line)."""

    async def run(stores: Stores) -> int:
        project = await find_project(stores, project_name)
        with out.open("w", encoding="utf-8") as file:
            return await dataset_files.export_jsonl(stores, project.id, dataset, file, as_of)

    count = with_stores(run)
    click.echo(f"exported {count} examples to {out}", err=True)


@datasets.command("import")
@click.argument("dataset")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def datasets_import(dataset: str, project_name: str, path: Path) -> None:
    """Add the examples of a JSON Lines file (as `export` writes) to DATASET,
    created when missing, as one new version."""

    async def run(stores: Stores) -> int:
        project = await find_project(stores, project_name)
        with path.open(encoding="utf-8") as file:
            return await dataset_files.import_jsonl(stores, project.id, dataset, file)

    count = with_stores(run)
    click.echo(f"imported {count} examples into {dataset}", err=True)
