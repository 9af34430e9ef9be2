"""The store dies mid-load (SIGKILL) and comes back: writes answer 503 with
Retry-After meanwhile, the service recovers without a restart of its own, and every
write acknowledged with 2xx is stored exactly once."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import httpx

from app.domain.auth import create_key
from app.main import create_app
from app.settings import Settings
from app.store.embedded.server import EmbeddedMongo
from tests.conftest import services

CREATE = """mutation($input: FeedbackInput!) { createFeedback(input: $input) { id } }"""
# A request that neither answers nor fails within this long counts as a hang.
HANG = 30.0
# The whole scenario, far beyond what a working system needs on a slow machine.
GIVE_UP = 300.0
WRITERS = 4
KILL_AFTER = 40
AFTER_RESTART = 10


async def test_store_killed_and_restarted(own_store: EmbeddedMongo, settings: Settings) -> None:
    app = create_app(
        replace(settings, mongodb_uri=own_store.uri),
        serverSelectionTimeoutMS=1500,
        connectTimeoutMS=1000,
        socketTimeoutMS=3000,
    )
    acked: list[str] = []
    unavailable: list[httpx.Response] = []
    # The fault follows events, not the clock: the store is killed once
    # KILL_AFTER writes are acknowledged, restarted once a writer has seen the
    # outage, and every writer goes on until it has had AFTER_RESTART more writes
    # acknowledged. So the outage is seen, and recovered from, on any machine.
    enough_acked = asyncio.Event()
    outage_seen = asyncio.Event()
    restarted = asyncio.Event()
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

            async def write(feedback_id: str) -> None:
                """Write one record, retrying after 503 with the same id until acknowledged."""
                body = {
                    "query": CREATE,
                    "variables": {
                        "input": {"id": feedback_id, "runId": run_id, "key": "q", "score": 1}
                    },
                }
                while True:
                    response = await asyncio.wait_for(http.post("/graphql", json=body), HANG)
                    assert response.status_code in (200, 503), response.text
                    answer = response.json()
                    if response.status_code == 200 and "errors" not in answer:
                        acked.append(feedback_id)
                        if len(acked) >= KILL_AFTER:
                            enough_acked.set()
                        return
                    assert response.status_code == 503, answer
                    assert response.headers["Retry-After"].isdigit()
                    assert answer["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
                    unavailable.append(response)
                    outage_seen.set()
                    await asyncio.sleep(0.2)  # a client's back-off, not a wait for work

            async def writer() -> None:
                after_restart = 0
                while after_restart < AFTER_RESTART:
                    await write(str(uuid.uuid4()))
                    if restarted.is_set():
                        after_restart += 1

            async def chaos() -> None:
                await enough_acked.wait()
                await asyncio.to_thread(own_store.kill)
                await outage_seen.wait()
                await asyncio.to_thread(own_store.start)
                restarted.set()

            async with asyncio.timeout(GIVE_UP):
                await asyncio.gather(chaos(), *(writer() for _ in range(WRITERS)))
    assert unavailable, "the outage was never observed"
    assert len(acked) >= KILL_AFTER + WRITERS * AFTER_RESTART
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
