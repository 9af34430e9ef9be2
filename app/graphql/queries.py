from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.domain import validation as v
from app.domain.otel_ids import named_run
from app.errors import BadRequest, NotFound
from app.graphql.analytics_queries import AnalyticsQueryMixin, WebhookQueryMixin
from app.graphql.context import Context
from app.graphql.inputs.feedback import FeedbackFilter
from app.graphql.inputs.runs import RunFilter
from app.graphql.permissions import CanRead, IsAdmin
from app.graphql.query_mixins.autofeedback import AutoFeedbackQueryMixin
from app.graphql.query_mixins.comparative import ComparativeQueryMixin
from app.graphql.query_mixins.datasets import DatasetQueryMixin
from app.graphql.query_mixins.evaluation import EvaluationQueryMixin
from app.graphql.query_mixins.lifecycle import LifecycleQueryMixin
from app.graphql.query_mixins.preferences import PreferenceQueryMixin
from app.graphql.query_mixins.review import ReviewQueryMixin
from app.graphql.query_mixins.signals import SignalQueryMixin
from app.graphql.query_mixins.tasks import FeedbackTaskQueryMixin
from app.graphql.query_mixins.tracing_projects import TracingProjectQueryMixin
from app.graphql.types.admin import ApiKey, FeedbackKey, Project
from app.graphql.types.common import Connection
from app.graphql.types.feedback import Feedback
from app.graphql.types.feedback_tokens import FeedbackToken
from app.graphql.types.run import Run

# A feedback filter on runs looks up matching run ids first; past this many the
# filter is refused rather than silently truncated.
MAX_FEEDBACK_FILTER_RUNS = 10_000


@strawberry.type
class Query(
    FeedbackTaskQueryMixin,
    ReviewQueryMixin,
    PreferenceQueryMixin,
    SignalQueryMixin,
    AnalyticsQueryMixin,
    WebhookQueryMixin,
    AutoFeedbackQueryMixin,
    EvaluationQueryMixin,
    TracingProjectQueryMixin,
    LifecycleQueryMixin,
    DatasetQueryMixin,
    ComparativeQueryMixin,
):
    @strawberry.field(permission_classes=[CanRead], description="The API key's project.")
    async def project(self, info: Info[Context, None]) -> Project:
        record = await info.context.stores.projects.get(info.context.project_id)
        if record is None:
            raise NotFound("project not found")
        return Project.from_record(record)

    @strawberry.field(
        permission_classes=[CanRead],
        description=(
            "A run by id or, for a run sent as an OpenTelemetry span, by traceId and spanId."
        ),
    )
    async def run(
        self,
        info: Info[Context, None],
        id: strawberry.ID | None = None,
        trace_id: str | None = None,
        span_id: str | None = None,
    ) -> Run | None:
        named = named_run(
            str(id) if id is not None else None, trace_id, span_id, ("id", "traceId", "spanId")
        )
        run_id = v.check_uuid(named, "id")
        record = await info.context.loaders.runs.load(run_id)
        return Run.from_record(record) if record else None

    @strawberry.field(permission_classes=[CanRead], description="Runs, newest first.")
    async def runs(
        self,
        info: Info[Context, None],
        filter: RunFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Run]:
        ctx = info.context
        query = filter.to_query() if filter else RunFilter().to_query()
        if filter is not None and filter.feedback_key is not None:
            ids = await ctx.stores.feedback.run_ids_matching(
                ctx.project_id,
                filter.feedback_key,
                filter.min_score,
                filter.max_score,
                MAX_FEEDBACK_FILTER_RUNS + 1,
            )
            if len(ids) > MAX_FEEDBACK_FILTER_RUNS:
                raise BadRequest(
                    f"the feedback filter matches more than {MAX_FEEDBACK_FILTER_RUNS} runs; "
                    "narrow it with a score range or a time range"
                )
            query.ids = ids
        page = await ctx.stores.runs.page(ctx.project_id, query, first, after)
        return Connection.from_page(page, Run.from_record)

    @strawberry.field(permission_classes=[CanRead], description="Feedback, newest first.")
    async def feedback(
        self,
        info: Info[Context, None],
        filter: FeedbackFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Feedback]:
        ctx = info.context
        query = (filter or FeedbackFilter()).to_query()
        page = await ctx.stores.feedback.page(ctx.project_id, query, first, after)
        return Connection.from_page(page, Feedback.from_record)

    @strawberry.field(permission_classes=[CanRead])
    async def feedback_by_id(self, info: Info[Context, None], id: strawberry.ID) -> Feedback | None:
        feedback_id = v.check_uuid(str(id), "id")
        record = await info.context.stores.feedback.get(info.context.project_id, feedback_id)
        return Feedback.from_record(record) if record else None

    @strawberry.field(permission_classes=[CanRead])
    async def feedback_keys(self, info: Info[Context, None]) -> list[FeedbackKey]:
        records = await info.context.stores.feedback_keys.list(info.context.project_id)
        return [FeedbackKey.from_record(r) for r in records]

    @strawberry.field(permission_classes=[CanRead])
    async def feedback_key(self, info: Info[Context, None], key: str) -> FeedbackKey | None:
        record = await info.context.stores.feedback_keys.get(info.context.project_id, key)
        return FeedbackKey.from_record(record) if record else None

    @strawberry.field(permission_classes=[IsAdmin], description="The project's API keys.")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        records = await info.context.stores.api_keys.list(info.context.project_id)
        return [ApiKey.from_record(r) for r in records]

    @strawberry.field(
        permission_classes=[CanRead], description="A run's feedback tokens, newest first."
    )
    async def feedback_tokens(
        self,
        info: Info[Context, None],
        run_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FeedbackToken]:
        ctx = info.context
        run = v.check_uuid(str(run_id), "runId")
        page = await ctx.stores.feedback_tokens.page_for_run(ctx.project_id, run, first, after)
        return Connection.from_page(page, FeedbackToken.from_record)
