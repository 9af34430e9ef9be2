"""graphql-transport-ws with the socket's API key checked for as long as it is open.

Strawberry checks the key once, at connection_init. This handler checks it again
(app.graphql.websocket_auth.recheck_key, through the same cache as HTTP) before
each operation starts, before each result is sent, and every RECHECK_SECONDS while
the socket is open, so an idle subscription is closed too. The first failed check
closes the socket; nothing is sent after it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)

from app.graphql.context import Context
from app.graphql.websocket_auth import RECHECK_SECONDS, SocketClose, recheck_key


class KeyCheckingWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed_for: SocketClose | None = None
        self.checks: set[asyncio.Task[SocketClose | None]] = set()
        self.key_watch: asyncio.Task[None] | None = None
        self.ending = asyncio.Event()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.key_watch is None:
            self.key_watch = asyncio.create_task(self.watch_key())

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # Before acknowledgement Strawberry closes the socket with 4401 itself.
        if self.connection_acknowledged and not await self.key_still_valid():
            return
        await super().handle_subscribe(message)

    async def send_message(self, message: Message) -> None:
        if self.closed_for is not None:
            return
        if message["type"] == "next" and not await self.key_still_valid():
            return
        await super().send_message(message)

    async def watch_key(self) -> None:
        """Checks the key while nothing else does: an idle subscription, say."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):  # not wait_for: see domain.background
                    async with asyncio.timeout(RECHECK_SECONDS):
                        await self.ending.wait()
                if self.ending.is_set() or not await self.key_still_valid():
                    return
        except Exception as error:  # a bug: logged as Strawberry logs its own tasks'
            await self.handle_task_exception(error)

    async def key_still_valid(self) -> bool:
        if self.closed_for is None:
            # Shielded: an operation cancelled mid-lookup must not cancel the lookup
            # (PyMongo leaks the socket of a connection cancelled while it opens).
            # Never shared: a check that began before a revocation would miss it.
            check = asyncio.create_task(recheck_key(self.context))
            self.checks.add(check)
            check.add_done_callback(self.checks.discard)
            verdict = await asyncio.shield(check)
            if verdict is None:
                return True
            if self.closed_for is None:  # another caller may have closed it meanwhile
                self.closed_for = verdict
                # The client (or Strawberry, for a protocol error) may have closed it.
                with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected):
                    await self.websocket.close(code=verdict.code, reason=verdict.reason)
        return False

    async def shutdown(self) -> None:
        # Let checks in progress finish rather than cancel them (see key_still_valid).
        self.ending.set()
        if self.key_watch is not None:
            await self.key_watch
        await super().shutdown()
        for check in list(self.checks):
            with contextlib.suppress(Exception):  # raised to whoever asked for the check
                await check
