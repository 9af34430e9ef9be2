from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.live.broker import LiveEvent
from app.graphql.types.feedback import Feedback
from app.graphql.types.webhooks import FeedbackEventKind


@strawberry.type(description="A change to feedback, as it happens.")
class FeedbackEvent:
    kind: FeedbackEventKind
    at: datetime
    feedback: Feedback = strawberry.field(description="The record after the change.")

    @classmethod
    def from_event(cls, event: LiveEvent) -> FeedbackEvent:
        return cls(
            kind=FeedbackEventKind(event.kind),
            at=event.at,
            feedback=Feedback.from_record(event.feedback),
        )
