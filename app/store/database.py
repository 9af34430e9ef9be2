"""Where the database is: MONGODB_URI, a running Plaudit's embedded server, or a
fresh embedded server for this process."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from app.settings import Settings, SettingsError
from app.store.embedded.server import DataDirInUse, EmbeddedMongo


def _marker(settings: Settings) -> Path:
    return settings.data_dir / "embedded.json"


def _running_embedded_uri(settings: Settings) -> str | None:
    """The URI of the embedded server another Plaudit process started, if it answers."""
    try:
        info = json.loads(_marker(settings).read_text())
        uri = str(info["uri"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=1000)
    try:
        client.admin.command("ping")
    except PyMongoError:
        return None
    finally:
        client.close()
    return uri


def require_data_dir(settings: Settings) -> None:
    """Fail, creating nothing, unless the embedded database's data directory exists
    (for commands that read data: an empty new directory would only mislead)."""
    if settings.mongodb_uri is not None or (settings.data_dir / "db").is_dir():
        return
    raise SettingsError(
        f"no Plaudit data directory at {settings.data_dir.resolve()}: set PLAUDIT_DATA_DIR "
        "to the one `plaudit serve` uses (default: .plaudit in the current directory), "
        "or MONGODB_URI to use a MongoDB server"
    )


@contextlib.contextmanager
def database(
    settings: Settings, *, share: bool = False, create: bool = False
) -> Iterator[Settings]:
    """Yield settings with ``mongodb_uri`` set, starting the embedded server if needed.

    With ``share`` (the server process), the embedded server's address is written
    to the data directory so CLI commands run meanwhile can reach it; without it,
    a server another process owns is used when it answers. Without ``create``, a
    data directory that does not exist is an error (:func:`require_data_dir`)."""
    if not create:
        require_data_dir(settings)
    settings = settings.with_secret_keys_from_data_dir()
    if settings.mongodb_uri is not None:
        yield settings
        return
    embedded = EmbeddedMongo(settings.data_dir)
    shared_uri = None
    try:
        embedded.start()
    except DataDirInUse:
        # Another live process owns the directory; a `plaudit serve` shares its server.
        shared_uri = None if share else _running_embedded_uri(settings)
        if shared_uri is None:
            raise
    if shared_uri is not None:
        yield replace(settings, mongodb_uri=shared_uri)
        return
    marker = _marker(settings)
    try:
        # We own the directory now: a marker left here is a killed server's.
        marker.unlink(missing_ok=True)
        if share:
            marker.write_text(json.dumps({"uri": embedded.uri, "pid": os.getpid()}))
        yield replace(settings, mongodb_uri=embedded.uri)
    finally:
        if share:
            marker.unlink(missing_ok=True)
        embedded.stop()
