"""One mixin per resource, composed into Mutation."""

from __future__ import annotations

import strawberry

from app.graphql.mutations.admin import AdminMutationMixin
from app.graphql.mutations.autofeedback import AutoFeedbackMutationMixin
from app.graphql.mutations.datasets import DatasetMutationMixin
from app.graphql.mutations.evaluation import EvaluationMutationMixin
from app.graphql.mutations.feedback import FeedbackMutationMixin
from app.graphql.mutations.feedback_keys import FeedbackKeyMutationMixin
from app.graphql.mutations.feedback_tokens import FeedbackTokenMutationMixin
from app.graphql.mutations.lifecycle import LifecycleMutationMixin
from app.graphql.mutations.preferences import PreferenceMutationMixin
from app.graphql.mutations.reviewer_links import ReviewerLinkMutationMixin
from app.graphql.mutations.runs import RunMutationMixin
from app.graphql.mutations.signals import SignalMutationMixin
from app.graphql.mutations.tasks import FeedbackTaskMutationMixin
from app.graphql.mutations.webhooks import WebhookMutationMixin


@strawberry.type
class Mutation(
    RunMutationMixin,
    FeedbackMutationMixin,
    FeedbackKeyMutationMixin,
    FeedbackTokenMutationMixin,
    AdminMutationMixin,
    FeedbackTaskMutationMixin,
    ReviewerLinkMutationMixin,
    PreferenceMutationMixin,
    SignalMutationMixin,
    WebhookMutationMixin,
    AutoFeedbackMutationMixin,
    EvaluationMutationMixin,
    LifecycleMutationMixin,
    DatasetMutationMixin,
):
    pass
