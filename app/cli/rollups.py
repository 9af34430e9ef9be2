"""`plaudit rollups rebuild`."""

from __future__ import annotations

import click

from app.cli.common import with_stores
from app.domain.projects import find_project
from app.store import Stores


@click.group()
def rollups() -> None:
    """Feedback rollups: the hourly and daily sums statistics are read from."""


@rollups.command("rebuild")
@click.option("--project", "project_name", default=None, help="Only this project (default: all).")
@click.option("--key", default=None, help="Only this feedback key.")
def rollups_rebuild(project_name: str | None, key: str | None) -> None:
    """Recompute rollups (and the runs' tallies for worst runs) from the raw feedback."""
    from app.domain.analytics.rebuild import rebuild_rollups

    async def run(stores: Stores) -> list[tuple[str, int]]:
        if project_name is None:
            chosen = await stores.projects.list()
        else:
            chosen = [await find_project(stores, project_name)]
        return [(p.name, await rebuild_rollups(stores, p.id, key)) for p in chosen]

    for name, count in with_stores(run):
        click.echo(f"{name}: {count} rollups rebuilt (and run tallies)")
