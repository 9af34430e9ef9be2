"""The store dies mid-load (SIGKILL) and comes back: writes answer 503 with
Retry-After meanwhile, the service recovers without a restart of its own, and every
write acknowledged with 2xx is stored exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.auth import create_key
from app.embedded import EmbeddedMongo
from app.main import create_app
from app.settings import Settings
from tests.conftest import services

CREATE = """mutation($input: FeedbackInput!) { createFeedback(input: $input) { id } }"""
# A request that neither answers nor fails within this long counts as a hang.
HANG = 30.0


@pytest.fixture
async def own_store(tmp_path: Path) -> AsyncIterator[EmbeddedMongo]:
    embedded = EmbeddedMongo(tmp_path / "store")
    embedded.start()
    yield embedded
    embedded.stop()


async def test_store_killed_and_restarted(own_store: EmbeddedMongo, settings: Settings) -> None:
    app = create_app(
        replace(settings, mongodb_uri=own_store.uri),
        serverSelectionTimeoutMS=1500,
        connectTimeoutMS=1000,
        socketTimeoutMS=3000,
    )
    acked: list[str] = []
    unavailable: list[httpx.Response] = []
    async with app.router.lifespan_context(app):
        stores = services(app).stores
        project = await stores.projects.create("faults")
        _, secret = await create_key(stores, project.id, "ingest")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {secret}"},
        ) as http:
            run_id = str(uuid.uuid4())
            response = await http.post(
                "/graphql",
                json={
                    "query": "mutation($id: ID!) { ingestRuns(runs: [{id: $id}]) { id } }",
                    "variables": {"id": run_id},
                },
            )
            assert "errors" not in response.json()

            async def write(feedback_id: str) -> httpx.Response:
                body = {
                    "query": CREATE,
                    "variables": {
                        "input": {"id": feedback_id, "runId": run_id, "key": "q", "score": 1}
                    },
                }
                return await asyncio.wait_for(http.post("/graphql", json=body), HANG)

            async def writer(n: int) -> list[str]:
                """Write n records, retrying each after 503 with the same id."""
                done = []
                for _ in range(n):
                    feedback_id = str(uuid.uuid4())
                    while True:
                        response = await write(feedback_id)
                        assert response.status_code in (200, 503), response.text
                        body = response.json()
                        if response.status_code == 200 and "errors" not in body:
                            done.append(feedback_id)
                            break
                        assert response.status_code == 503, body
                        assert response.headers["Retry-After"].isdigit()
                        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
                        unavailable.append(response)
                        await asyncio.sleep(0.2)
                return done

            async def chaos() -> None:
                await asyncio.sleep(0.5)
                await asyncio.to_thread(own_store.kill)
                await asyncio.sleep(3)
                await asyncio.to_thread(own_store.start)

            results = await asyncio.gather(chaos(), *(writer(40) for _ in range(4)))
            for done in results[1:]:
                assert done is not None
                acked += done
    assert unavailable, "the outage was never observed"
    assert len(acked) == 160
    check = create_app(replace(settings, mongodb_uri=own_store.uri))
    async with check.router.lifespan_context(check):
        docs: list[dict[str, Any]] = (
            await services(check)
            .stores.feedback.collection.find({"project_id": project.id})
            .to_list()
        )
    ids = [d["_id"] for d in docs]
    assert sorted(ids) == sorted(acked)
    assert len(set(ids)) == len(ids)
