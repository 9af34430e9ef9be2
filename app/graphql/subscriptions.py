"""GraphQL subscriptions (WebSocket, graphql-transport-ws).

Authenticate with the connection_init payload ``{"Authorization": "Bearer <key>"}``
(browsers cannot set headers on a WebSocket) or the upgrade request's header."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.errors import BadRequest
from app.graphql.context import Context
from app.graphql.permissions import CanRead
from app.graphql.types.live import FeedbackEvent

MAX_FILTER_VALUES = 1000


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[CanRead],
        description=(
            "Feedback changes in the key's project as they happen, optionally only on these "
            "keys and runs."
        ),
    )
    async def feedback_events(
        self,
        info: Info[Context, None],
        keys: list[str] | None = None,
        run_ids: list[strawberry.ID] | None = None,
    ) -> AsyncGenerator[FeedbackEvent, None]:
        ctx = info.context
        if len(keys or []) > MAX_FILTER_VALUES or len(run_ids or []) > MAX_FILTER_VALUES:
            raise BadRequest(f"keys and runIds take at most {MAX_FILTER_VALUES} values each")
        runs = [v.check_uuid(str(r), "runIds") for r in run_ids] if run_ids is not None else None
        hub = ctx.services.pipelines.live
        subscriber = await hub.subscribe(ctx.project_id, keys, runs)
        try:
            async for event in hub.broker.events(subscriber):
                yield FeedbackEvent.from_event(event)
        finally:
            await hub.unsubscribe(subscriber)
