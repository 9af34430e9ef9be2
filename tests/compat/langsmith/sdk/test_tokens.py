"""Presigned feedback tokens with the real langsmith SDK.

What the SDK sends (langsmith 0.15):
- create_presigned_feedback_token: POST /feedback/tokens with one object
  {run_id, feedback_key, feedback_config, id, expires_in: {days, hours, minutes}}
  or expires_at (ISO); reads {id, url, expires_at}.
- create_presigned_feedback_tokens: POST /feedback/tokens with an array of such
  objects (no id); reads an array.
- list_presigned_feedback_tokens: GET /feedback/tokens?run_id=&limit=&offset=.
- create_feedback_from_token(token_or_url): POST <api_url>/feedback/tokens/{uuid}
  with {score, value, correction, comment, metadata} (and its x-api-key header,
  which the route must ignore); a URL is reduced to its last path part.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from langsmith import Client
from langsmith.utils import LangSmithError

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

FEEDBACK = """query($id: ID!) { run(id: $id) {
  feedback { key score value comment correction history { by via } }
} }"""


def feedback_on(live: LiveServer, keys: Keys, run_id: uuid.UUID) -> list[Any]:
    result: list[Any] = live.graphql(keys.read, FEEDBACK, {"id": str(run_id)})["run"]["feedback"]
    return result


def new_run(client: Client) -> uuid.UUID:
    run_id = uuid.uuid4()
    client.create_run("chat", {"q": "hi"}, "llm", id=run_id)
    return run_id


def test_single_token_created_and_used(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    run_id = new_run(client)
    token = client.create_presigned_feedback_token(run_id, "helpfulness")
    assert token.url.endswith(str(token.id))
    # Default lifetime: 3 hours (settings.token_default_ttl).
    lifetime = token.expires_at - datetime.now(UTC)
    assert timedelta(hours=2, minutes=55) < lifetime <= timedelta(hours=3)

    # The end user has no API key; the SDK still sends its header, which is ignored.
    anonymous = make_client("not-a-plaudit-key")
    anonymous.create_feedback_from_token(
        token.id, 0.5, comment="ok", value="fine", correction={"a": "b"}
    )
    [recorded] = feedback_on(live, keys, run_id)
    assert (recorded["key"], recorded["score"], recorded["comment"]) == ("helpfulness", 0.5, "ok")
    assert recorded["value"] == "fine" and recorded["correction"] == {"a": "b"}
    # By the token's record id, not the id in its URL (test_token_ids.py).
    assert recorded["history"][0]["by"].startswith("token:")
    assert str(token.id) not in recorded["history"][0]["by"]
    assert recorded["history"][0]["via"] == "rest"


def test_batch_tokens_listed_and_used_by_url(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    run_id = new_run(client)
    tokens = client.create_presigned_feedback_tokens(
        run_id,
        ["thumbs", "stars"],
        expiration=timedelta(days=1, hours=2),
        feedback_configs=[None, {"type": "continuous", "min": 1, "max": 5}],
    )
    assert len(tokens) == 2
    for token in tokens:
        lifetime = token.expires_at - datetime.now(UTC)
        assert timedelta(hours=25, minutes=55) < lifetime <= timedelta(hours=26)
    listed = {t.id for t in client.list_presigned_feedback_tokens(run_id)}
    assert listed == {t.id for t in tokens}

    by_key = dict(zip(["thumbs", "stars"], tokens, strict=True))
    client.create_feedback_from_token(by_key["thumbs"].url, 1)
    client.create_feedback_from_token(by_key["stars"].url, 4, metadata={"page": "/help"})
    scores = {f["key"]: f["score"] for f in feedback_on(live, keys, run_id)}
    assert scores == {"thumbs": 1, "stars": 4}


def test_expires_at_and_tokens_of_other_projects(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys, other_keys: Keys
) -> None:
    client = make_client()
    run_id = new_run(client)
    at = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    token = client.create_presigned_feedback_token(run_id, "thumbs", expiration=at)
    assert token.expires_at == at

    stranger = make_client(other_keys.admin)
    assert list(stranger.list_presigned_feedback_tokens(run_id)) == []
    with pytest.raises(LangSmithError):
        stranger.create_presigned_feedback_token(run_id, "thumbs")


def test_get_on_a_token_url_renders_the_confirmation_page_without_writing(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    """A deliberate difference from LangSmith: link scanners GET every URL in an
    email, so a GET shows a page with a button instead of recording feedback."""
    client = make_client()
    run_id = new_run(client)
    token = client.create_presigned_feedback_token(run_id, "thumbs")
    # The URL carries PLAUDIT_PUBLIC_URL; reach the same path on the live server.
    path = urlsplit(token.url).path
    assert path == f"/api/v1/feedback/tokens/{token.id}"
    page = httpx.get(f"{live.url}{path}?score=1", timeout=30, follow_redirects=True)
    assert page.status_code == 200
    assert page.history[0].status_code == 303
    assert page.headers["content-type"].startswith("text/html")
    assert "<form" in page.text
    assert feedback_on(live, keys, run_id) == []


def test_a_used_up_or_unknown_token_is_refused(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    with pytest.raises(LangSmithError):
        client.create_feedback_from_token(uuid.uuid4(), 1)
    run_id = new_run(client)
    token = client.create_presigned_feedback_token(run_id, "thumbs")
    client.create_feedback_from_token(token.id, 1)
    # A second submission through the same token changes the same record.
    client.create_feedback_from_token(token.id, 0)
    [recorded] = feedback_on(live, keys, run_id)
    assert recorded["score"] == 0


def test_a_comment_after_a_vote_keeps_the_vote(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    """create_feedback_from_token sends every field, null when not given: a null
    score is "no score given", never a withdrawal."""
    client = make_client()
    voted, commented = new_run(client), new_run(client)
    token = client.create_presigned_feedback_token(voted, "thumbs")
    anonymous = make_client("not-a-plaudit-key")
    anonymous.create_feedback_from_token(token.url, 1)
    anonymous.create_feedback_from_token(token.url, comment="the sources helped")
    [recorded] = feedback_on(live, keys, voted)
    assert (recorded["score"], recorded["comment"]) == (1, "the sources helped")

    # With no vote before it, a comment is a comment-only record.
    alone = client.create_presigned_feedback_token(commented, "thumbs")
    anonymous.create_feedback_from_token(alone.url, comment="no thumbs from me")
    [recorded] = feedback_on(live, keys, commented)
    assert (recorded["score"], recorded["comment"]) == (None, "no thumbs from me")


def test_the_tokens_feedback_id_and_metadata_are_kept(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    run_id, feedback_id = new_run(client), uuid.uuid4()
    token = client.create_presigned_feedback_token(run_id, "thumbs", feedback_id=feedback_id)
    client.create_feedback_from_token(token.url, 0, metadata={"page": "/help", "ab": "B"})
    client.create_feedback_from_token(token.url, 1, value="yes")
    read = client.read_feedback(feedback_id)
    assert (read.run_id, read.key, read.score, read.value) == (run_id, "thumbs", 1, "yes")
    assert read.feedback_source is not None and read.feedback_source.type == "app"
    assert {"page": "/help", "ab": "B"}.items() <= read.feedback_source.metadata.items()
    # A feedback id already taken is refused rather than shared.
    with pytest.raises(LangSmithError, match="already used"):
        client.create_presigned_feedback_token(run_id, "stars", feedback_id=feedback_id)


def test_expirations_under_a_minute(make_client: Callable[..., Client]) -> None:
    """The SDK sends a timedelta under a minute as zero minutes: refused, never
    stretched to the 3-hour default. A datetime that close is honoured."""
    client = make_client()
    run_id = new_run(client)
    with pytest.raises(LangSmithError, match="at least one minute"):
        client.create_presigned_feedback_token(run_id, "thumbs", expiration=timedelta(seconds=30))
    at = (datetime.now(UTC) + timedelta(seconds=30)).replace(microsecond=0)
    token = client.create_presigned_feedback_token(run_id, "thumbs", expiration=at)
    assert token.expires_at == at


def test_a_token_before_its_run(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    run_id = uuid.uuid4()
    token = client.create_presigned_feedback_token(run_id, "thumbs")
    assert [t.id for t in client.list_presigned_feedback_tokens(run_id)] == [token.id]
    client.create_feedback_from_token(token.url, 1)
    [waiting] = client.list_feedback(run_ids=[run_id])
    pending = "query($id: ID!) { feedbackById(id: $id) { pending score } }"
    assert live.graphql(keys.read, pending, {"id": str(waiting.id)})["feedbackById"] == {
        "pending": True,
        "score": 1,
    }
    client.create_run("late", {"q": "hi"}, "llm", id=run_id)
    [attached] = feedback_on(live, keys, run_id)
    assert attached["score"] == 1
