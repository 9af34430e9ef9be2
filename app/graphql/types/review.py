"""The review workspace: reviewer links, a reviewer's progress, pairwise pairs."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.domain.reviewer_links import IssuedReviewerLink as IssuedReviewerLinkRecord
from app.domain.tasks.pairs import ReviewPair as ReviewPairRecord
from app.domain.tasks.queue import ReviewProgress as ReviewProgressRecord
from app.graphql.context import Context
from app.graphql.types.run import Run
from app.graphql.types.tasks import FeedbackTask
from app.store.reviewer_links import ReviewerLink as ReviewerLinkRecord


@strawberry.type(
    description="A link for reviewing one feedback task without an API key (never the token)."
)
class ReviewerLink:
    record: strawberry.Private[ReviewerLinkRecord]
    id: strawberry.ID = strawberry.field(
        description="The link's record id, as revokeReviewerLink takes it; not a credential."
    )
    task_id: strawberry.ID
    reviewer: str = strawberry.field(
        description="Who reviews through it: the name given, else link:<id>."
    )
    expires_at: datetime
    revoked_at: datetime | None
    created_by: str
    created_at: datetime

    @classmethod
    def from_record(cls, r: ReviewerLinkRecord) -> ReviewerLink:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            task_id=strawberry.ID(r.task_id),
            reviewer=r.reviewer or f"link:{r.id}",
            expires_at=r.expires_at,
            revoked_at=r.revoked_at,
            created_by=r.created_by,
            created_at=r.created_at,
        )

    @strawberry.field(description="The task the link reviews.")
    async def task(self, info: Info[Context, None]) -> FeedbackTask | None:
        task = await info.context.stores.feedback_tasks.get(
            self.record.project_id, self.record.task_id
        )
        return FeedbackTask.from_record(task) if task else None


@strawberry.type(description="A new reviewer link: the url (with its token) is shown once.")
class IssuedReviewerLink:
    url: str = strawberry.field(
        description="The dashboard's review page with the token in its #fragment."
    )
    token: str
    link: ReviewerLink

    @classmethod
    def from_issued(cls, issued: IssuedReviewerLinkRecord) -> IssuedReviewerLink:
        return cls(url=issued.url, token=issued.token, link=ReviewerLink.from_record(issued.record))


@strawberry.type(description="A reviewer's progress on a task.")
class ReviewProgress:
    reviewer: str
    remaining: int = strawberry.field(
        description=(
            "Runs still needing review that this reviewer has not reviewed "
            "(counted up to 10,000; remainingCapped says when there are more)."
        )
    )
    remaining_capped: bool
    done: int = strawberry.field(description="This reviewer's submissions since `since`.")
    since: datetime

    @classmethod
    def from_record(cls, r: ReviewProgressRecord) -> ReviewProgress:
        return cls(
            reviewer=r.reviewer,
            remaining=r.remaining,
            remaining_capped=r.remaining_capped,
            done=r.done,
            since=r.since,
        )


@strawberry.type(
    description=(
        "Two runs of a task with the same inputs, for a preference (logPreference on "
        "`key`, with the same userId)."
    )
)
class ReviewPair:
    task_id: strawberry.ID
    key: str
    reviewer: str
    first: Run = strawberry.field(description="The older run.")
    second: Run

    @classmethod
    def from_record(cls, r: ReviewPairRecord) -> ReviewPair:
        return cls(
            task_id=strawberry.ID(r.task.id),
            key=r.key,
            reviewer=r.reviewer,
            first=Run.from_record(r.first),
            second=Run.from_record(r.second),
        )
