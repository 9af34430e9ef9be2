"""The dashboard's tests: the app served for real (uvicorn in a thread) and
headless Chromium through Playwright's async API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright
from pymongo import AsyncMongoClient

from app.main import create_app
from app.settings import Settings
from app.store import Stores
from tests.browser.servers import CHROMIUM_ARGS
from tests.pipelines_support import LiveServer, serve


@pytest.fixture
async def stores(mongo_uri: str, db_name: str, sync_db: Any) -> AsyncIterator[Stores]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    yield Stores.open(client[db_name])
    await client.close()


@pytest.fixture
async def server(settings: Settings, stores: Stores) -> AsyncIterator[LiveServer]:
    running = await asyncio.to_thread(serve, create_app(settings))
    yield running
    await asyncio.to_thread(running.stop)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()
