"""The `plaudit` command: serve, projects, keys."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from app.cli.autofeedback import autofeedback
from app.cli.export import export as export_command
from app.cli.serve_process import SERVE_PID, exit_cleanly_on_signals
from app.cli.tokens import tokens
from app.domain.auth import ROLES, create_key
from app.domain.projects import check_project_name, create_project
from app.errors import PlauditError
from app.settings import Settings, SettingsError
from app.store import Stores
from app.store.client import DatabaseUnavailable, make_client, ping
from app.store.database import database
from app.store.embedded.server import EmbeddedStartError
from app.store.indexes import ensure_indexes

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


DATABASE_HELP = (
    "The database: the MongoDB at MONGODB_URI if set, otherwise the embedded one in "
    "PLAUDIT_DATA_DIR (default: .plaudit in the current directory), reached through "
    "the `plaudit serve` running on that directory, or started for the command. Only "
    "`serve` and `projects create` create a data directory."
)


def _with_stores(fn: Callable[[Stores], Awaitable[T]], *, create: bool = False) -> T:
    """Run ``fn`` against the configured database (embedded when MONGODB_URI is unset).

    Without ``create``, an embedded data directory that does not exist is an error."""
    return _with_settings_and_stores(lambda _settings, stores: fn(stores), create=create)


def _with_settings_and_stores(
    fn: Callable[[Settings, Stores], Awaitable[T]], *, create: bool = False
) -> T:
    """Like _with_stores, also passing the resolved settings (secret keys included)."""
    try:
        with database(_settings(), create=create) as settings:
            assert settings.mongodb_uri is not None
            uri = settings.mongodb_uri

            async def run() -> T:
                client = make_client(uri)
                try:
                    await ping(client)
                    stores = Stores.open(client[settings.db_name])
                    await ensure_indexes(stores.db)
                    return await fn(settings, stores)
                finally:
                    await client.close()

            return asyncio.run(run())
    except (SettingsError, EmbeddedStartError, DatabaseUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    except PlauditError as exc:
        raise click.ClickException(exc.message) from None


@click.group()
@click.version_option(package_name="plaudit")
def main() -> None:
    """Plaudit: a self-hosted feedback service for LLM applications."""


@main.command()
@click.option("--host", default=None, help="Default: PLAUDIT_HOST or 127.0.0.1")
@click.option("--port", type=int, default=None, help="Default: PLAUDIT_PORT or 8000")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the API, starting the embedded database when MONGODB_URI is unset."""
    import uvicorn

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = _settings()
    host = host or settings.host
    port = port if port is not None else settings.port
    exit_cleanly_on_signals(workers)
    try:
        with database(settings, share=True, create=True) as resolved:
            assert resolved.mongodb_uri is not None
            if resolved.embedded:
                click.echo(f"embedded database: {resolved.data_dir / 'db'}", err=True)
            # Workers are separate processes: they read their settings from the
            # environment, so hand them the resolved database and keys that way.
            os.environ["MONGODB_URI"] = resolved.mongodb_uri
            os.environ["PLAUDIT_SECRET_KEYS"] = ",".join(resolved.secret_keys)
            os.environ["PLAUDIT_EMBEDDED"] = "1" if resolved.embedded else "0"
            os.environ[SERVE_PID] = str(os.getpid())
            click.echo(f"Plaudit on http://{host}:{port}  (GraphiQL at /graphql)", err=True)
            uvicorn.run(
                "app.cli.serve_process:app_factory",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=False,
                timeout_keep_alive=settings.keep_alive_seconds,
            )
    except (SettingsError, EmbeddedStartError) as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
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

    async def run(stores: Stores) -> Any:
        return await create_project(stores, name)

    project = _with_stores(run, create=True)
    click.echo(f"created project {project.name} ({project.id})")


@projects.command("list")
def projects_list() -> None:
    """List the projects."""

    async def run(stores: Stores) -> Any:
        return await stores.projects.list()

    for project in _with_stores(run):
        click.echo(f"{project.id}  {project.name}")


@main.group()
def keys() -> None:
    """API keys (stored hashed; a key's secret is shown once)."""


@keys.command("create")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="", help="A label for the key.")
def keys_create(project_name: str, role: str, name: str) -> None:
    """Create an API key; prints its secret, once."""

    async def run(stores: Stores) -> Any:
        project = await stores.projects.by_name(project_name)
        if project is None:
            raise click.ClickException(
                f"no project named {project_name!r} (create it: plaudit projects create NAME)"
            )
        return await create_key(stores, project.id, role, name)

    key, secret = _with_stores(run)
    click.echo(f"created {key.role} key {key.id} for project {project_name}", err=True)
    click.echo("the key (shown once, store it now):", err=True)
    click.echo(secret)


@keys.command("list")
@click.option("--project", "project_name", default=None, help="Only this project's keys.")
def keys_list(project_name: str | None) -> None:
    """List API keys (never their secrets)."""

    async def run(stores: Stores) -> Any:
        names = {p.id: p.name for p in await stores.projects.list()}
        project_id = None
        if project_name is not None:
            matches = [pid for pid, n in names.items() if n == project_name]
            if not matches:
                raise click.ClickException(f"no project named {project_name!r}")
            project_id = matches[0]
        return names, await stores.api_keys.list(project_id)

    names, records = _with_stores(run)
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

    async def run(stores: Stores) -> Any:
        return await stores.api_keys.revoke(key_id)

    key = _with_stores(run)
    if key is None:
        raise click.ClickException(f"no API key {key_id}")
    click.echo(f"revoked {key.id}")


main.add_command(tokens)
main.add_command(export_command)
main.add_command(autofeedback)


@main.group()
def rollups() -> None:
    """Feedback rollups: the hourly and daily sums statistics are read from."""


@rollups.command("rebuild")
@click.option("--project", "project_name", default=None, help="Only this project (default: all).")
@click.option("--key", default=None, help="Only this feedback key.")
def rollups_rebuild(project_name: str | None, key: str | None) -> None:
    """Recompute rollups from the raw feedback."""
    from app.domain.analytics.rebuild import rebuild_rollups

    async def run(stores: Stores) -> Any:
        chosen = await stores.projects.list()
        if project_name is not None:
            chosen = [p for p in chosen if p.name == project_name]
            if not chosen:
                raise click.ClickException(f"no project named {project_name!r}")
        return [(p.name, await rebuild_rollups(stores, p.id, key)) for p in chosen]

    for name, count in _with_stores(run):
        click.echo(f"{name}: {count} rollups rebuilt")


def _add_database_help(command: click.Command) -> None:
    command.epilog = DATABASE_HELP
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            _add_database_help(subcommand)


_add_database_help(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
