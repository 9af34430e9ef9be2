"""`plaudit tokens ...`: presigned feedback tokens and email links from the shell."""

from __future__ import annotations

import json
from typing import Any

import click

from app.cli.common import with_settings_and_stores
from app.domain.feedback_question import Question, token_question
from app.domain.feedback_tokens import (
    IssuedToken,
    TokenRequest,
    create_tokens,
    email_links,
    revoke_token,
)
from app.domain.projects import find_project
from app.domain.tokens import feedback_token_serializer
from app.settings import Settings
from app.store import Stores
from app.store.feedback_tokens import FeedbackToken


def _token_options(fn: Any) -> Any:
    options = [
        click.option("--project", "project_name", required=True, help="Project name."),
        click.option("--run", "run_id", required=True, help="The run's id."),
        click.option("--key", required=True, help="The feedback key, e.g. helpful."),
        click.option("--expires-in", type=int, default=None, help="Seconds (default 3 hours)."),
        click.option("--max-uses", type=int, default=None, help="Submissions allowed."),
        click.option("--origin", "origins", multiple=True, help="Allowed web origin (repeat)."),
        click.option("--end-user", default=None, help="Record feedback as this user id."),
        click.option(
            "--prompt",
            default=None,
            help="The question to ask (default: the key's description).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _issue(
    project_name: str,
    run_id: str,
    key: str,
    expires_in: int | None,
    max_uses: int | None,
    origins: tuple[str, ...],
    end_user: str | None,
    prompt: str | None,
) -> tuple[Settings, IssuedToken, Question]:
    async def run(settings: Settings, stores: Stores) -> tuple[Settings, IssuedToken, Question]:
        project = await find_project(stores, project_name)
        request = TokenRequest(
            run_id=run_id,
            key=key,
            expires_in=expires_in,
            max_uses=max_uses,
            allowed_origins=list(origins),
            end_user_id=end_user,
            prompt=prompt,
        )
        serializer = feedback_token_serializer(settings.secret_keys)
        [issued] = await create_tokens(stores, serializer, settings, project.id, [request], "cli")
        return settings, issued, await token_question(stores, issued.record)

    return with_settings_and_stores(run)


@click.group()
def tokens() -> None:
    """Presigned feedback tokens, for the widget and email links."""


@tokens.command("create")
@_token_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def tokens_create(as_json: bool, **options: Any) -> None:
    """Issue a token; prints it, the widget snippet and the email-link URL."""
    _, issued, _ = _issue(**options)
    record = issued.record
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": record.id,
                    "token": issued.token,
                    "expires_at": record.expires_at.isoformat(),
                    "widget_snippet": issued.widget_snippet,
                    "email_url": issued.email_url,
                }
            )
        )
        return
    click.echo(f"token {record.id} expires {record.expires_at:%Y-%m-%d %H:%M:%S} UTC", err=True)
    click.echo(issued.token)
    click.echo(f"widget:  {issued.widget_snippet}")
    click.echo(f"email:   {issued.email_url}")


@tokens.command("email-links")
@_token_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "json"]),
    default="text",
    show_default=True,
)
def tokens_email_links(fmt: str, **options: Any) -> None:
    """Issue a token and print its email links: one per answer its key offers
    (Yes/No, a scale, categories); json: {id, question, up, down, page, choices}."""
    settings, issued, question = _issue(**options)
    links = email_links(settings, issued.token, question)
    if fmt == "html":
        click.echo(links.html)
    elif fmt == "json":
        choices = [{"label": c.label, "score": c.score, "url": c.url} for c in links.choices]
        click.echo(
            json.dumps(
                {
                    "id": issued.record.id,
                    "question": question.prompt,
                    "up": links.up_url,
                    "down": links.down_url,
                    "page": links.page_url,
                    "choices": choices,
                }
            )
        )
    else:
        click.echo(links.text, nl=False)


@tokens.command("revoke")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.argument("token_id")
def tokens_revoke(project_name: str, token_id: str) -> None:
    """Revoke a token by its id (the record id, not the token)."""

    async def run(settings: Settings, stores: Stores) -> FeedbackToken:
        project = await find_project(stores, project_name)
        return await revoke_token(stores, project.id, token_id)

    record = with_settings_and_stores(run)
    click.echo(f"revoked {record.id}")
