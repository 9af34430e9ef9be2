"""What every `plaudit` command shares: the settings, and a database to work on (the
embedded one, started for the command when no server runs on its directory)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from app.errors import PlauditError
from app.settings import Settings, SettingsError
from app.store import Stores
from app.store.client import make_client, open_stores, ping
from app.store.database import database
from app.store.embedded.server import EmbeddedStartError

T = TypeVar("T")

DATABASE_HELP = (
    "The database: the MongoDB at MONGODB_URI if set, otherwise the embedded one in "
    "PLAUDIT_DATA_DIR (default: .plaudit in the current directory), reached through "
    "the `plaudit serve` running on that directory, or started for the command. Only "
    "`serve` and `projects create` create a data directory."
)


def settings_from_env() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def with_stores(fn: Callable[[Stores], Awaitable[T]], *, create: bool = False) -> T:
    """Run ``fn`` against the configured database (embedded when MONGODB_URI is unset).

    Without ``create``, an embedded data directory that does not exist is an error."""
    return with_settings_and_stores(lambda _settings, stores: fn(stores), create=create)


def with_settings_and_stores(
    fn: Callable[[Settings, Stores], Awaitable[T]], *, create: bool = False
) -> T:
    """Like with_stores, also passing the resolved settings (secret keys included)."""
    try:
        with database(settings_from_env(), create=create) as settings:
            assert settings.mongodb_uri is not None
            uri = settings.mongodb_uri

            async def run() -> T:
                client = make_client(uri)
                try:
                    await ping(client)
                    return await fn(settings, await open_stores(client, settings.db_name))
                finally:
                    await client.close()

            return asyncio.run(run())
    except (SettingsError, EmbeddedStartError) as exc:
        raise click.ClickException(str(exc)) from None
    except PlauditError as exc:
        raise click.ClickException(exc.message) from None
