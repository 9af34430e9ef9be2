"""Fixtures for the WebSocket tests: the test's own database connection and the
app served by uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from app.main import create_app
from app.settings import Settings
from app.store import Stores
from tests.pipelines_support import LiveServer, serve


@pytest.fixture
async def stores(mongo_uri: str, db_name: str, sync_db: Any) -> AsyncIterator[Stores]:
    """The test's own connection to the database the servers use."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    yield Stores.open(client[db_name])
    await client.close()


@pytest.fixture
async def server(settings: Settings, stores: Stores) -> AsyncIterator[LiveServer]:
    running = await asyncio.to_thread(serve, create_app(settings))
    yield running
    await asyncio.to_thread(running.stop)
