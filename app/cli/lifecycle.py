"""`plaudit erase-user`, `plaudit delete-runs` and `plaudit retention`: the data
lifecycle (app/domain/lifecycle/) from the command line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from tqdm import tqdm

from app.cli.common import with_stores
from app.domain.lifecycle.erasure import erase_end_user
from app.domain.lifecycle.runs import Deletion, count_runs, delete_runs
from app.domain.projects import find_project, update_project
from app.store import Stores
from app.store.lifecycle import ErasureReceipt
from app.store.projects import Project
from app.store.runs import RunQuery


def _echo_counts(counts: dict[str, int]) -> None:
    for name, count in sorted(counts.items()):
        click.echo(f"  {name}: {count}")


@click.command("erase-user")
@click.argument("user_id")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--include-runs", is_flag=True, help="Also delete the runs this user made.")
def erase_user(user_id: str, project_name: str, include_runs: bool) -> None:
    """Erase everything a project holds for an end user id (see the README's
    "Operating Plaudit" section); prints the receipt, which holds no user data."""

    async def run(stores: Stores) -> ErasureReceipt:
        project = await find_project(stores, project_name)
        return await erase_end_user(
            stores, project.id, user_id, include_runs=include_runs, by="cli"
        )

    receipt = with_stores(run)
    click.echo(f"erasure {receipt.id} at {receipt.at.isoformat()}:")
    _echo_counts(receipt.counts)


@click.command("delete-runs")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--id", "ids", multiple=True, help="A run id (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Runs carrying this tag (repeatable: all).")
@click.option("--name", default=None, help="Runs with this name.")
@click.option("--user", "user_id", default=None, help="Runs of this end user id.")
@click.option("--session", "session_id", default=None, help="Runs of this session id.")
@click.option("--before", type=click.DateTime(), default=None, help="Runs started before (UTC).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
def delete_runs_command(
    project_name: str,
    ids: tuple[str, ...],
    tags: tuple[str, ...],
    name: str | None,
    user_id: str | None,
    session_id: str | None,
    before: datetime | None,
    progress: bool,
) -> None:
    """Delete runs, by id or by filter, with their feedback, signals, preferences,
    tokens, task submissions and review state. Run it again to finish one cut short."""
    query = RunQuery(
        tags=list(tags),
        name=name,
        user_id=user_id,
        session_id=session_id,
        start_before=before.replace(tzinfo=UTC) if before else None,
    )
    if not ids and query == RunQuery():
        raise click.UsageError(
            "give --id, or at least one filter (deleting every run is not offered)"
        )
    if ids and query != RunQuery():
        raise click.UsageError("give either --id or filters, not both")

    async def run(stores: Stores) -> Deletion:
        project = await find_project(stores, project_name)
        chosen = RunQuery(ids=list(ids)) if ids else query
        total = await count_runs(stores, project.id, chosen)
        with tqdm(total=total, unit=" runs", file=sys.stderr, disable=not progress) as bar:

            def advance(done: int) -> None:
                bar.update(done)

            if ids:
                return await delete_runs(stores, project.id, ids=list(ids), progress=advance)
            return await delete_runs(stores, project.id, query=query, progress=advance)

    deletion = with_stores(run)
    counts = deletion.counts()
    click.echo(f"{counts.get('runs', 0)} runs deleted:")
    _echo_counts(counts)


@click.command("retention")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.argument("days", type=click.IntRange(min=0))
def retention(project_name: str, days: int) -> None:
    """Keep a project's runs, feedback, signals, preferences and task submissions
    DAYS days (0: forever). Statistics over time are kept."""

    async def run(stores: Stores) -> Project:
        project = await find_project(stores, project_name)
        return await update_project(stores, project.id, retention_days=days)

    project = with_stores(run)
    kept = f"{project.retention_days} days" if project.retention_days else "forever"
    click.echo(f"{project.name}: records kept {kept}")
