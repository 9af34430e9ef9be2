from __future__ import annotations

from datetime import datetime

import strawberry

from app.graphql.types.enums import FeedbackKeyKind, Role
from app.store.api_keys import ApiKey as ApiKeyRecord
from app.store.feedback_keys import FeedbackKey as FeedbackKeyRecord
from app.store.projects import Project as ProjectRecord


@strawberry.type
class Project:
    id: strawberry.ID
    name: str
    strict_feedback_keys: bool = strawberry.field(
        description="When true, feedback on keys that are not registered is rejected."
    )
    allowed_origins: list[str] = strawberry.field(
        description="Web origins the widget may post feedback from."
    )
    created_at: datetime
    retention_days: int | None = strawberry.field(
        description="Days runs, feedback, signals, preferences and task submissions are "
        "kept; null: forever."
    )
    langfuse_public_scores: bool = strawberry.field(
        description="Whether Langfuse's browser SDK may create scores with the public key "
        "alone, from allowedOrigins (rate-limited, create-only)."
    )

    @classmethod
    def from_record(cls, p: ProjectRecord) -> Project:
        return cls(
            id=strawberry.ID(p.id),
            name=p.name,
            strict_feedback_keys=p.strict_feedback_keys,
            allowed_origins=p.allowed_origins,
            created_at=p.created_at,
            retention_days=p.retention_days,
            langfuse_public_scores=p.langfuse_public_scores,
        )


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    role: Role
    prefix: str = strawberry.field(
        description="The first characters of the key, to tell keys apart."
    )
    created_at: datetime
    revoked_at: datetime | None
    public_key: str | None = strawberry.field(
        description="A Langfuse-style key pair's public key (the user of Langfuse's "
        "Basic auth; the secret is the password); null for other keys."
    )

    @classmethod
    def from_record(cls, k: ApiKeyRecord) -> ApiKey:
        return cls(
            id=strawberry.ID(k.id),
            name=k.name,
            role=Role(k.role),
            prefix=k.prefix,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
            public_key=k.public_key,
        )


@strawberry.type
class CreatedApiKey:
    api_key: ApiKey
    secret: str = strawberry.field(description="The key itself. Shown once, never stored.")


@strawberry.type
class Category:
    value: float
    label: str


@strawberry.type(description="What a feedback key's scores mean.")
class FeedbackKey:
    key: str
    kind: FeedbackKeyKind
    min: float | None
    max: float | None
    categories: list[Category]
    higher_is_better: bool
    description: str | None
    enforced: bool = strawberry.field(
        description=(
            "Feedback the key does not allow is refused. When false, the key only says "
            "what scores mean (like LangSmith's unenforced configs)."
        )
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, k: FeedbackKeyRecord) -> FeedbackKey:
        return cls(
            key=k.key,
            kind=FeedbackKeyKind(k.kind),
            min=k.min,
            max=k.max,
            categories=[Category(value=c.value, label=c.label) for c in k.categories],
            higher_is_better=k.higher_is_better,
            description=k.description,
            enforced=k.enforced,
            created_at=k.created_at,
            updated_at=k.updated_at,
        )
