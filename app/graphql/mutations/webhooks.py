from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain.webhooks.registry import create_webhook, delete_webhook, redeliver
from app.graphql.context import Context
from app.graphql.permissions import IsAdmin
from app.graphql.types.webhooks import (
    CreatedWebhook,
    FeedbackEventKind,
    Webhook,
    WebhookDelivery,
)


@strawberry.type
class WebhookMutationMixin:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "POST feedback events to an http(s) URL, signed with HMAC-SHA256 "
            "(header Plaudit-Signature: t=<unix time>,v1=<hex of HMAC(secret, t + '.' + "
            "body)>). Without a secret one is generated. events default to all."
        ),
    )
    async def create_webhook(
        self,
        info: Info[Context, None],
        url: str,
        events: list[FeedbackEventKind] | None = None,
        secret: str | None = None,
        description: str | None = None,
    ) -> CreatedWebhook:
        ctx = info.context
        record = await create_webhook(
            ctx.stores,
            ctx.services.pipelines.webhooks,
            ctx.project_id,
            url,
            [e.value for e in events] if events is not None else None,
            secret,
            description,
            allow_private_networks=ctx.settings.webhook_allow_private_networks,
        )
        return CreatedWebhook(webhook=Webhook.from_record(record), secret=record.secret)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Delete a webhook and its delivery log."
    )
    async def delete_webhook(self, info: Info[Context, None], id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        await delete_webhook(ctx.stores, ctx.services.pipelines.webhooks, ctx.project_id, str(id))
        return id

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Send a delivered or failed delivery again, now.",
    )
    async def redeliver_webhook(
        self, info: Info[Context, None], delivery_id: strawberry.ID
    ) -> WebhookDelivery:
        ctx = info.context
        record = await redeliver(
            ctx.stores, ctx.services.pipelines.dispatcher, ctx.project_id, str(delivery_id)
        )
        return WebhookDelivery.from_record(record)
