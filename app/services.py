"""What the app holds for its lifetime: settings, the client, the stores."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.admission import Admission
from app.domain.auth import KeyCache
from app.domain.autofeedback.jobs import AutoFeedbackRunner
from app.domain.evaluation.service import OnlineEvaluation
from app.domain.lifecycle.retention import RetentionSweeper
from app.domain.pipelines import FeedbackPipelines
from app.domain.rate_limits import PublicRateLimits
from app.domain.tokens import (
    TokenSerializer,
    feedback_token_serializer,
    reviewer_link_serializer,
)
from app.settings import Settings
from app.store import Stores
from app.store.client import Client


@dataclass
class Services:
    settings: Settings
    client: Client
    stores: Stores
    key_cache: KeyCache
    feedback_tokens: TokenSerializer
    reviewer_links: TokenSerializer
    public_limits: PublicRateLimits
    pipelines: FeedbackPipelines
    autofeedback: AutoFeedbackRunner
    evaluation: OnlineEvaluation
    otlp_admission: Admission
    retention: RetentionSweeper

    @classmethod
    def build(cls, settings: Settings, client: Client, stores: Stores) -> Services:
        pipelines = FeedbackPipelines.build(settings, stores)
        autofeedback = AutoFeedbackRunner(stores, settings)
        return cls(
            settings=settings,
            client=client,
            stores=stores,
            key_cache=KeyCache(settings.api_key_cache_seconds),
            feedback_tokens=feedback_token_serializer(settings.secret_keys),
            reviewer_links=reviewer_link_serializer(settings.secret_keys),
            public_limits=PublicRateLimits(
                stores.rate_limits,
                settings.public_rate_limit_per_ip,
                settings.public_rate_limit_per_token,
            ),
            pipelines=pipelines,
            autofeedback=autofeedback,
            # The LLM client is automatic feedback's: one concurrency limit per process.
            evaluation=OnlineEvaluation.build(
                settings, stores, pipelines.webhooks, autofeedback.llm
            ),
            otlp_admission=Admission(settings.otlp_max_concurrent_requests, "OTLP exports"),
            retention=RetentionSweeper(stores, settings.retention_sweep_seconds),
        )
