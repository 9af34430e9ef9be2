"""`plaudit keys create | list | revoke`."""

from __future__ import annotations

import click

from app.cli.common import with_stores
from app.domain.auth import ROLES, create_key, revoke_key
from app.domain.projects import find_project
from app.store import Stores
from app.store.api_keys import ApiKey


@click.group()
def keys() -> None:
    """API keys (stored hashed; a key's secret is shown once)."""


@keys.command("create")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="", help="A label for the key.")
@click.option(
    "--langfuse", is_flag=True, help="A Langfuse-style key pair (public key and secret key)."
)
def keys_create(project_name: str, role: str, name: str, langfuse: bool) -> None:
    """Create an API key; prints its secret, once."""

    async def run(stores: Stores) -> tuple[ApiKey, str]:
        project = await find_project(stores, project_name)
        return await create_key(stores, project.id, role, name, langfuse=langfuse)

    key, secret = with_stores(run)
    click.echo(f"created {key.role} key {key.id} for project {project_name}", err=True)
    if key.public_key is not None:
        click.echo(f"public key (LANGFUSE_PUBLIC_KEY): {key.public_key}", err=True)
    click.echo("the key (shown once, store it now):", err=True)
    click.echo(secret)


@keys.command("list")
@click.option("--project", "project_name", default=None, help="Only this project's keys.")
def keys_list(project_name: str | None) -> None:
    """List API keys (never their secrets)."""

    async def run(stores: Stores) -> tuple[dict[str, str], list[ApiKey]]:
        names = {p.id: p.name for p in await stores.projects.list()}
        project_id = None
        if project_name is not None:
            project_id = (await find_project(stores, project_name)).id
        return names, await stores.api_keys.list(project_id)

    names, records = with_stores(run)
    for key in records:
        state = "revoked" if key.revoked_at else "active"
        click.echo(
            f"{key.id}  {names.get(key.project_id, '?'):<16} {key.role:<7} {key.prefix}…  {state}"
            + (f"  {key.name}" if key.name else "")
        )


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key by its id."""

    async def run(stores: Stores) -> ApiKey:
        return await revoke_key(stores, key_id)

    key = with_stores(run)
    click.echo(f"revoked {key.id}")
