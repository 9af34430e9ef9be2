"""All database access. One store class per collection; nothing here knows HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app.store.api_keys import ApiKeyStore
from app.store.feedback import FeedbackStore
from app.store.feedback_keys import FeedbackKeyStore
from app.store.feedback_tokens import FeedbackTokenStore
from app.store.projects import ProjectStore
from app.store.rate_limits import MongoRateLimitStorage
from app.store.runs import RunStore


@dataclass(frozen=True)
class Stores:
    db: AsyncDatabase[dict[str, Any]]
    projects: ProjectStore
    api_keys: ApiKeyStore
    runs: RunStore
    feedback: FeedbackStore
    feedback_keys: FeedbackKeyStore
    feedback_tokens: FeedbackTokenStore
    rate_limits: MongoRateLimitStorage

    @classmethod
    def open(cls, db: AsyncDatabase[dict[str, Any]]) -> Stores:
        return cls(
            db=db,
            projects=ProjectStore(db),
            api_keys=ApiKeyStore(db),
            runs=RunStore(db),
            feedback=FeedbackStore(db),
            feedback_keys=FeedbackKeyStore(db),
            feedback_tokens=FeedbackTokenStore(db),
            rate_limits=MongoRateLimitStorage(db),
        )
