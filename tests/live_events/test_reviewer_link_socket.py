"""A reviewer link opens no WebSocket: in connection_init or in the upgrade
request's header, it is refused as a connection without a key (close code 4403)."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.domain.reviewer_links import create_reviewer_link
from app.domain.tasks.service import create_task
from app.domain.tokens import reviewer_link_serializer
from app.settings import Settings
from app.store import Stores
from tests.live_events.sockets import project
from tests.pipelines_support import LiveServer


async def test_a_reviewer_link_opens_no_socket(
    server: LiveServer, stores: Stores, settings: Settings
) -> None:
    keys = await project(stores, "acme")
    task = await create_task(stores, keys.project_id, name="Grading", schema={"type": "object"})
    issued = await create_reviewer_link(
        stores,
        reviewer_link_serializer(settings.secret_keys),
        settings,
        keys.project_id,
        task.id,
        reviewer="ann",
        expires_in=None,
        created_by="test",
    )
    header = f"ReviewLink {issued.token}"
    # Over HTTP the link works ...
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ currentReviewerLink { reviewer } }"},
            headers={"Authorization": header},
        )
    assert response.json()["data"]["currentReviewerLink"] == {"reviewer": "ann"}
    # ... on a socket it is no key, wherever it is put.
    for in_header in (False, True):
        ws = await connect(
            server.ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers={"Authorization": header} if in_header else None,
        )
        payload = {} if in_header else {"Authorization": header}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
