from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.domain.feedback_tokens import EmailLinks as EmailLinksRecord
from app.domain.feedback_tokens import IssuedToken
from app.graphql.context import Context
from app.graphql.types.admin import FeedbackKey
from app.store.feedback_tokens import FeedbackToken as FeedbackTokenRecord


@strawberry.type(description="A presigned feedback token's record (never the token itself).")
class FeedbackToken:
    record: strawberry.Private[FeedbackTokenRecord]
    id: strawberry.ID = strawberry.field(
        description=(
            "The token's record id (its jti), as revokeFeedbackToken takes it. Not a "
            "credential: a LangSmith-style token's URL carries another id."
        )
    )
    run_id: strawberry.ID
    key: str
    expires_at: datetime
    uses: int = strawberry.field(description="Uses taken; counted only when maxUses is set.")
    max_uses: int | None
    revoked_at: datetime | None
    allowed_origins: list[str] = strawberry.field(
        description="Origins allowed besides the project's allowedOrigins."
    )
    end_user_id: str | None
    feedback_id: strawberry.ID | None = strawberry.field(
        description="The id its feedback record gets (null: a new random id)."
    )
    prompt: str | None = strawberry.field(
        description="The question the widget and email page ask (else the key's description)."
    )
    created_at: datetime

    @classmethod
    def from_record(cls, r: FeedbackTokenRecord) -> FeedbackToken:
        return cls(
            record=r,
            id=strawberry.ID(r.id),
            run_id=strawberry.ID(r.run_id),
            key=r.key,
            expires_at=r.expires_at,
            uses=r.uses,
            max_uses=r.max_uses,
            revoked_at=r.revoked_at,
            feedback_id=strawberry.ID(r.feedback_id) if r.feedback_id else None,
            allowed_origins=r.allowed_origins,
            end_user_id=r.end_user_id,
            prompt=r.prompt,
            created_at=r.created_at,
        )

    @strawberry.field(description="The key's registered config (null when unregistered).")
    async def feedback_key(self, info: Info[Context, None]) -> FeedbackKey | None:
        fk = await info.context.stores.feedback_keys.get(self.record.project_id, self.record.key)
        return FeedbackKey.from_record(fk) if fk else None


@strawberry.type(description="A newly issued token: the secret part is shown once.")
class IssuedFeedbackToken:
    token: str = strawberry.field(description="The signed token (data-token for the widget).")
    widget_url: str = strawberry.field(description="The widget script's URL.")
    widget_snippet: str = strawberry.field(description="A <script> tag that renders the widget.")
    email_url: str = strawberry.field(description="The email-link page (/f/<token>).")
    feedback_token: FeedbackToken

    @classmethod
    def from_issued(cls, issued: IssuedToken) -> IssuedFeedbackToken:
        return cls(
            token=issued.token,
            widget_url=issued.widget_script_url,
            widget_snippet=issued.widget_snippet,
            email_url=issued.email_url,
            feedback_token=FeedbackToken.from_record(issued.record),
        )


@strawberry.type(description="One answer's link: it opens the email page with it preselected.")
class EmailLinkChoice:
    label: str
    score: float
    url: str


@strawberry.type(
    description=(
        "Links for an email, one per answer the token's key offers (thumbs, a scale, "
        "categories), and ready-made HTML and text."
    )
)
class EmailFeedbackLinks:
    token: str
    question: str = strawberry.field(
        description="The question: the token's prompt, else the key's description."
    )
    choices: list[EmailLinkChoice] = strawberry.field(
        description="One link per answer (none for a freeform key or an open number)."
    )
    up_url: str | None = strawberry.field(
        description="The best answer's link (Yes for a boolean or unregistered key)."
    )
    down_url: str | None = strawberry.field(description="The worst answer's link (No).")
    page_url: str = strawberry.field(description="The page with no answer chosen.")
    html: str = strawberry.field(description="The links, to paste into an HTML email.")
    text: str = strawberry.field(description="The same for a plain-text email.")
    feedback_token: FeedbackToken

    @classmethod
    def build(cls, links: EmailLinksRecord, record: FeedbackTokenRecord) -> EmailFeedbackLinks:
        return cls(
            token=links.token,
            question=links.question.prompt,
            choices=[
                EmailLinkChoice(label=c.label, score=c.score, url=c.url) for c in links.choices
            ],
            up_url=links.up_url,
            down_url=links.down_url,
            page_url=links.page_url,
            html=links.html,
            text=links.text,
            feedback_token=FeedbackToken.from_record(record),
        )
