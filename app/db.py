"""The MongoDB connection: connect, ping, fail fast with a clear message."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError


class DatabaseUnavailable(RuntimeError):
    pass


def make_client(uri: str, **kwargs: Any) -> AsyncMongoClient[dict[str, Any]]:
    options: dict[str, Any] = {
        "tz_aware": True,
        "serverSelectionTimeoutMS": 5000,
        "connectTimeoutMS": 5000,
        "appname": "plaudit",
    }
    options.update(kwargs)
    return AsyncMongoClient(uri, **options)


async def ping(client: AsyncMongoClient[dict[str, Any]]) -> None:
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        raise DatabaseUnavailable(f"cannot reach MongoDB: {exc}") from exc
