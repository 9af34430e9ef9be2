"""The store: all database access, and nothing else does any. One store class per
collection (``Stores`` opens them all), the indexes (indexes.py), the client
(client.py), where the database is (database.py), the embedded server (embedded/),
and the feedback change stream (feedback_changes.py). What the driver raises is
named in errors.py. Nothing here knows HTTP, GraphQL or the domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store.api_keys import ApiKeyStore
from app.store.autofeedback_jobs import AutoFeedbackClaimStore, AutoFeedbackJobStore
from app.store.comparative import ComparativeExperimentStore, PairwiseScoreStore
from app.store.datasets import DatasetStore
from app.store.dump import DumpStore
from app.store.evaluation_rules import EvaluationRuleStore
from app.store.evaluations import EvaluationStore
from app.store.export_queries import ExportQueries
from app.store.feedback import FeedbackStore
from app.store.feedback_analytics import FeedbackAnalyticsStore
from app.store.feedback_changes import FeedbackChanges
from app.store.feedback_group_buckets import FeedbackGroupBucketStore
from app.store.feedback_keys import FeedbackKeyStore
from app.store.feedback_rollups import FeedbackRollupStore
from app.store.feedback_tasks import FeedbackTaskStore
from app.store.feedback_tokens import FeedbackTokenStore
from app.store.key_judges import KeyJudgeStore
from app.store.label_queries import LabelQueries
from app.store.lifecycle import LifecycleStore
from app.store.preferences import PreferenceStore
from app.store.projects import ProjectStore
from app.store.rate_limits import RateLimitCounters
from app.store.review_states import ReviewStateStore
from app.store.reviewer_links import ReviewerLinkStore
from app.store.run_days import RunDayStore
from app.store.run_tallies import RunTallyStore
from app.store.runs import RunStore
from app.store.signals import SignalStore
from app.store.task_submissions import TaskSubmissionStore
from app.store.tracing_projects import TracingProjectStore
from app.store.webhook_deliveries import WebhookDeliveryStore
from app.store.webhooks import WebhookStore


@dataclass(frozen=True)
class Stores:
    db: AsyncDatabase[dict[str, Any]]
    projects: ProjectStore
    api_keys: ApiKeyStore
    runs: RunStore
    tracing_projects: TracingProjectStore
    # Datasets and their versioned examples (experiments are tracing projects).
    datasets: DatasetStore
    # Comparative experiments and their pairwise scores (which become preferences).
    comparative_experiments: ComparativeExperimentStore
    pairwise_scores: PairwiseScoreStore
    feedback_rollups: FeedbackRollupStore
    feedback_group_buckets: FeedbackGroupBucketStore
    feedback_analytics: FeedbackAnalyticsStore
    # Per-run tallies of high/low scores, for worst runs (run_tallies.py).
    run_tallies: RunTallyStore
    # The same per run, with lifetime counts to walk (run_days.py).
    run_days: RunDayStore
    webhooks: WebhookStore
    webhook_deliveries: WebhookDeliveryStore
    feedback: FeedbackStore
    feedback_changes: FeedbackChanges
    feedback_keys: FeedbackKeyStore
    feedback_tokens: FeedbackTokenStore
    rate_limits: RateLimitCounters
    # Feedback tasks, review queues, preferences, implicit signals, exports.
    feedback_tasks: FeedbackTaskStore
    task_submissions: TaskSubmissionStore
    review_states: ReviewStateStore
    reviewer_links: ReviewerLinkStore
    preferences: PreferenceStore
    signals: SignalStore
    exports: ExportQueries
    # Automatic feedback: jobs, their run claims, key judges, label reads.
    autofeedback_jobs: AutoFeedbackJobStore
    autofeedback_claims: AutoFeedbackClaimStore
    key_judges: KeyJudgeStore
    labels: LabelQueries
    # Online evaluation: rules and the evaluation queue (with its results).
    evaluation_rules: EvaluationRuleStore
    evaluations: EvaluationStore
    # Erasure, run deletion, retention: every collection's rules (lifecycle.py).
    lifecycle: LifecycleStore
    dumps: DumpStore

    async def drain_writes(self) -> None:
        """Wait for the writes still being coalesced (group commit) to be sent and
        answered; called at shutdown before the client is closed."""
        await self.feedback.inserts.drain()

    @classmethod
    def open(cls, db: AsyncDatabase[dict[str, Any]]) -> Stores:
        return cls(
            db=db,
            projects=ProjectStore(db),
            api_keys=ApiKeyStore(db),
            runs=RunStore(db),
            tracing_projects=TracingProjectStore(db),
            datasets=DatasetStore(db),
            comparative_experiments=ComparativeExperimentStore(db),
            pairwise_scores=PairwiseScoreStore(db),
            feedback_rollups=FeedbackRollupStore(db),
            feedback_group_buckets=FeedbackGroupBucketStore(db),
            feedback_analytics=FeedbackAnalyticsStore(db),
            run_tallies=RunTallyStore(db),
            run_days=RunDayStore(db),
            webhooks=WebhookStore(db),
            webhook_deliveries=WebhookDeliveryStore(db),
            feedback=FeedbackStore(db),
            feedback_changes=FeedbackChanges(db),
            feedback_keys=FeedbackKeyStore(db),
            feedback_tokens=FeedbackTokenStore(db),
            rate_limits=RateLimitCounters(db),
            feedback_tasks=FeedbackTaskStore(db),
            task_submissions=TaskSubmissionStore(db),
            review_states=ReviewStateStore(db),
            reviewer_links=ReviewerLinkStore(db),
            preferences=PreferenceStore(db),
            signals=SignalStore(db),
            exports=ExportQueries(db),
            autofeedback_jobs=AutoFeedbackJobStore(db),
            autofeedback_claims=AutoFeedbackClaimStore(db),
            key_judges=KeyJudgeStore(db),
            labels=LabelQueries(db),
            evaluation_rules=EvaluationRuleStore(db),
            evaluations=EvaluationStore(db),
            lifecycle=LifecycleStore(db),
            dumps=DumpStore(db),
        )
