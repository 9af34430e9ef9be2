"""Query fields for analytics and webhooks, mixed into Query."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.domain.analytics.rules import load_rules
from app.domain.analytics.stats import DEFAULT_LIMIT, MAX_KEYS, StatsRequest, feedback_stats
from app.domain.analytics.worst_runs import worst_runs
from app.domain.feedback_keys import check_key_name
from app.errors import BadRequest
from app.graphql.context import Context
from app.graphql.inputs.analytics import FeedbackStatsFilter, StatsGroupBy
from app.graphql.permissions import CanRead, IsAdmin
from app.graphql.selection import selected_names
from app.graphql.types.analytics import FeedbackKeyRule, FeedbackStats, WorstRun
from app.graphql.types.common import Connection
from app.graphql.types.webhooks import DeliveryStatus, Webhook, WebhookDelivery

HISTOGRAM_FIELDS = {"p50", "p90", "labels", "distribution"}


@strawberry.type
class AnalyticsQueryMixin:
    @strawberry.field(
        permission_classes=[CanRead],
        description=(
            "Statistics of live feedback, per group. Filtered by key and time and grouped "
            "by KEY and TIME only, they are read from rollups (source: ROLLUPS), at a cost "
            "that does not grow with the number of records; otherwise aggregated."
        ),
    )
    async def feedback_stats(
        self,
        info: Info[Context, None],
        filter: FeedbackStatsFilter | None = None,
        group_by: list[StatsGroupBy] | None = None,
        comments: Annotated[
            int, strawberry.argument(description="Recent comments per group, in `comments`.")
        ] = 3,
        limit: Annotated[
            int, strawberry.argument(description="At most this many groups (see truncated).")
        ] = DEFAULT_LIMIT,
        distribution_buckets: int = 10,
    ) -> FeedbackStats:
        ctx = info.context
        selected = selected_names(info)
        request = StatsRequest(
            filter=(filter or FeedbackStatsFilter()).to_filter(),
            dims=[g.to_dimension() for g in group_by or []],
            with_hist=bool(HISTOGRAM_FIELDS & selected),
            comments=comments if "comments" in selected else 0,
            limit=limit,
            distribution_buckets=distribution_buckets,
        )
        result = await feedback_stats(
            ctx.stores, ctx.project_id, request, ctx.services.pipelines.rollups
        )
        return FeedbackStats.from_result(result)

    @strawberry.field(
        permission_classes=[CanRead],
        description=(
            "How each key's scores are read (kind, range, threshold, direction): of `keys`, "
            "or of every registered key and every key with feedback."
        ),
    )
    async def feedback_key_rules(
        self, info: Info[Context, None], keys: list[str] | None = None
    ) -> list[FeedbackKeyRule]:
        ctx = info.context
        if keys is not None and not 1 <= len(keys) <= MAX_KEYS:
            raise BadRequest(f"keys: give between 1 and {MAX_KEYS} keys (or leave it out)")
        for key in keys or []:
            check_key_name(key)
        await ctx.services.pipelines.rollups.flush()  # this process's own writes count
        rules = await load_rules(ctx.stores, ctx.project_id, keys)
        return [FeedbackKeyRule.from_rule(rules[k]) for k in sorted(rules)]

    @strawberry.field(
        permission_classes=[CanRead],
        description="Runs with the most negative feedback in the window (by each key's direction).",
    )
    async def worst_runs(
        self,
        info: Info[Context, None],
        keys: list[str] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        first: int = 10,
        comments: int = 3,
    ) -> list[WorstRun]:
        ctx = info.context
        records = await worst_runs(
            ctx.stores,
            ctx.project_id,
            keys=keys,
            since=after,
            until=before,
            first=first,
            comments=comments,
            buffer=ctx.services.pipelines.rollups,
        )
        return [WorstRun.from_record(r) for r in records]


@strawberry.type
class WebhookQueryMixin:
    @strawberry.field(permission_classes=[IsAdmin], description="The project's webhooks.")
    async def webhooks(self, info: Info[Context, None]) -> list[Webhook]:
        records = await info.context.stores.webhooks.list(info.context.project_id)
        return [Webhook.from_record(r) for r in records]

    @strawberry.field(permission_classes=[IsAdmin], description="The delivery log, newest first.")
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        webhook_id: strawberry.ID | None = None,
        status: DeliveryStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        ctx = info.context
        page = await ctx.stores.webhook_deliveries.page(
            ctx.project_id,
            v.check_uuid(str(webhook_id), "webhookId") if webhook_id is not None else None,
            status.value if status is not None else None,
            first,
            after,
        )
        return Connection.from_page(page, WebhookDelivery.from_record)
