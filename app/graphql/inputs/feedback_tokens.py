from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.feedback_tokens import TokenRequest


@strawberry.input(description="A presigned feedback token for one run and one key.")
class FeedbackTokenInput:
    run_id: strawberry.ID
    key: str
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
            run_id=str(self.run_id),
            key=self.key,
            expires_in=self.expires_in,
            expires_at=self.expires_at,
            max_uses=self.max_uses,
            allowed_origins=list(self.allowed_origins or []),
            end_user_id=self.end_user_id,
            feedback_id=str(self.feedback_id) if self.feedback_id is not None else None,
            prompt=self.prompt,
        )
