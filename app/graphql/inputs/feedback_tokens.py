from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.feedback_tokens import TokenRequest
from app.domain.otel_ids import named_run


@strawberry.input(
    description=(
        "A presigned feedback token for one run and one key. The run is named by runId "
        "or, for a run sent as an OpenTelemetry span, by traceId and spanId."
    )
)
class FeedbackTokenInput:
    key: str
    run_id: strawberry.ID | None = None
    trace_id: str | None = strawberry.field(
        default=None, description="The span's OTel trace id (32 hex digits), with spanId."
    )
    span_id: str | None = strawberry.field(
        default=None, description="The span's OTel span id (16 hex digits), with traceId."
    )
    expires_in: int | None = strawberry.field(
        default=None,
        description="Seconds until it expires (default PLAUDIT_TOKEN_DEFAULT_TTL, 3 hours).",
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="Instead of expiresIn: when it expires."
    )
    max_uses: int | None = strawberry.field(
        default=None, description="How many submissions it allows (default: no limit)."
    )
    allowed_origins: list[str] | None = strawberry.field(
        default=None,
        description="Web origins that may use it, besides the project's allowedOrigins.",
    )
    end_user_id: str | None = strawberry.field(
        default=None,
        description="Record feedback as this user (one vote per user, run and key).",
    )
    feedback_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The id the token's feedback record gets (default: a new random id).",
    )
    prompt: str | None = strawberry.field(
        default=None,
        description=(
            "The question the widget and email page ask, e.g. 'Did this answer help?' "
            "(default: the key's description)."
        ),
    )

    def to_request(self) -> TokenRequest:
        return TokenRequest(
            run_id=named_run(
                str(self.run_id) if self.run_id is not None else None, self.trace_id, self.span_id
            ),
            key=self.key,
            expires_in=self.expires_in,
            expires_at=self.expires_at,
            max_uses=self.max_uses,
            allowed_origins=list(self.allowed_origins or []),
            end_user_id=self.end_user_id,
            feedback_id=str(self.feedback_id) if self.feedback_id is not None else None,
            prompt=self.prompt,
        )
