"""Tests run against a real MongoDB wire-protocol server: the embedded one (started
once per session), or the server at MONGODB_URI. Each test gets its own database."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from starlette.applications import Starlette

from app import clock
from app.domain.auth import create_key
from app.main import create_app
from app.services import Services
from app.settings import Settings
from app.store.embedded.server import EmbeddedMongo
from tests.commands import CommandRecorder

SECRET = "test-secret-key-" + "x" * 32


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    embedded = EmbeddedMongo(tmp_path_factory.mktemp("embedded"))
    with embedded:
        yield embedded.uri


@pytest.fixture
def rate_limit_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """Pin the rate limits' clock to 1 s into the next hour, so no minute or hour
    window ends while the test counts (a test must never race a window's end), and
    every counter it writes outlives it (their TTL is their window's end)."""
    at = float((int(time.time()) // 3600 + 1) * 3600 + 1)
    monkeypatch.setattr(clock, "epoch_seconds", lambda: at)
    return at


@pytest.fixture
async def own_store(tmp_path: Path) -> AsyncIterator[EmbeddedMongo]:
    """An embedded store of the test's own, which the test may kill and restart."""
    embedded = EmbeddedMongo(tmp_path / "store")
    embedded.start()
    yield embedded
    embedded.stop()


@pytest.fixture
def db_name() -> Iterator[str]:
    name = f"plaudit_test_{uuid.uuid4().hex[:12]}"
    yield name


@pytest.fixture
def settings(mongo_uri: str, db_name: str, tmp_path: Path) -> Settings:
    return Settings(
        mongodb_uri=mongo_uri,
        db_name=db_name,
        data_dir=tmp_path,
        secret_keys=(SECRET,),
        public_url="http://testserver",
        embedded=False,
    )


@pytest.fixture
def sync_db(mongo_uri: str, db_name: str) -> Iterator[Any]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True)
    yield client[db_name]
    client.drop_database(db_name)
    client.close()


@pytest.fixture
def recorder() -> CommandRecorder:
    return CommandRecorder()


@pytest.fixture
def client_options(request: pytest.FixtureRequest, recorder: CommandRecorder) -> dict[str, Any]:
    """Extra AsyncMongoClient options for the app: with the record_commands mark,
    a listener recording every command into ``recorder``."""
    if request.node.get_closest_marker("record_commands") is not None:
        return {"event_listeners": [recorder]}
    return {}


@pytest.fixture
async def app(
    settings: Settings, client_options: dict[str, Any], sync_db: Any
) -> AsyncIterator[Starlette]:
    application = create_app(settings, **client_options)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass
class Keys:
    project_id: str
    admin: str
    ingest: str
    read: str


class GraphQLClient:
    """execute(query, variables) -> (data, errors), as one API key."""

    def __init__(self, http: httpx.AsyncClient, key: str | None) -> None:
        self.http = http
        self.key = key

    def as_key(self, key: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, key)

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code in (200, 503), response.text
        body = response.json()
        return body.get("data"), body.get("errors")

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        data, errors = await self.execute(query, variables)
        assert errors is None, errors
        assert data is not None
        return data

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The single error the call must fail with."""
        _, errors = await self.execute(query, variables)
        assert errors, "expected an error"
        return errors[0]


def services(app: Starlette) -> Services:
    result: Services = app.state.services
    return result


async def make_project(app: Starlette, name: str) -> Keys:
    stores = services(app).stores
    project = await stores.projects.create(name)
    keys = {}
    for role in ("admin", "ingest", "read"):
        _, secret = await create_key(stores, project.id, role)
        keys[role] = secret
    return Keys(project_id=project.id, **keys)


@pytest.fixture
async def keys(app: Starlette) -> Keys:
    return await make_project(app, "acme")


@pytest.fixture
async def other_keys(app: Starlette) -> Keys:
    return await make_project(app, "globex")


@pytest.fixture
def gql(http: httpx.AsyncClient, keys: Keys) -> GraphQLClient:
    """A GraphQL client with the project's admin key."""
    return GraphQLClient(http, keys.admin)
