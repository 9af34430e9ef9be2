"""`plaudit projects create | list`."""

from __future__ import annotations

import click

from app.cli.common import with_stores
from app.domain.projects import check_project_name, create_project
from app.errors import PlauditError
from app.store import Stores
from app.store.projects import Project


@click.group()
def projects() -> None:
    """Projects: every run and piece of feedback belongs to one."""


def _project_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # Checked before anything is created.
    try:
        return check_project_name(value)
    except PlauditError as exc:
        raise click.BadParameter(exc.message) from None


@projects.command("create")
@click.argument("name", callback=_project_name)
def projects_create(name: str) -> None:
    """Create a project (and the data directory, when it does not exist yet)."""

    async def run(stores: Stores) -> Project:
        return await create_project(stores, name)

    project = with_stores(run, create=True)
    click.echo(f"created project {project.name} ({project.id})")


@projects.command("list")
def projects_list() -> None:
    """List the projects."""

    async def run(stores: Stores) -> list[Project]:
        return await stores.projects.list()

    for project in with_stores(run):
        click.echo(f"{project.id}  {project.name}")
