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

from app.embedded import EmbeddedMongo
from app.settings import Settings


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


@contextlib.contextmanager
def database(settings: Settings, *, share: bool = False) -> Iterator[Settings]:
    """Yield settings with ``mongodb_uri`` set, starting the embedded server if needed.

    With ``share`` (the server process), the embedded server's address is written
    to the data directory so CLI commands run meanwhile can reach it."""
    settings = settings.with_secret_keys_from_data_dir()
    if settings.mongodb_uri is not None:
        yield settings
        return
    uri = _running_embedded_uri(settings)
    if uri is not None:
        yield replace(settings, mongodb_uri=uri)
        return
    embedded = EmbeddedMongo(settings.data_dir)
    with embedded:
        marker = _marker(settings)
        if share:
            marker.write_text(json.dumps({"uri": embedded.uri, "pid": os.getpid()}))
        try:
            yield replace(settings, mongodb_uri=embedded.uri)
        finally:
            if share:
                marker.unlink(missing_ok=True)
