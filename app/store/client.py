"""The MongoDB connection: connect, ping, fail fast with a clear message, and open the
stores with their indexes."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

from app.errors import Unavailable
from app.store import Stores
from app.store.indexes import ensure_indexes

Client = AsyncMongoClient[dict[str, Any]]


def make_client(uri: str, **kwargs: Any) -> Client:
    options: dict[str, Any] = {
        "tz_aware": True,
        # A request waits at most this long for an unreachable database, then the
        # client gets 503 with Retry-After.
        "serverSelectionTimeoutMS": 5000,
        "connectTimeoutMS": 5000,
        "appname": "plaudit",
    }
    uri_options = parse_uri(uri, warn=True)["options"] if "://" in uri else {}
    if "journal" not in uri_options and "w" not in uri_options:
        # An acknowledged write must survive the server process being killed:
        # w:1 alone acknowledges before the journal reaches disk (both mongod and
        # the embedded server lose the last ~100 ms of writes on a crash). A URI
        # that sets w or journal itself (e.g. w=majority on a replica set) wins.
        options["journal"] = True
    options.update(kwargs)
    return AsyncMongoClient(uri, **options)


async def ping(client: Client) -> None:
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        raise Unavailable(f"cannot reach MongoDB: {exc}") from exc


async def open_stores(client: Client, db_name: str) -> Stores:
    """The stores of database ``db_name``, its indexes ensured (idempotent)."""
    stores = Stores.open(client[db_name])
    await ensure_indexes(stores.db)
    return stores
