"""A LangSmith-style token URL used by a page of another origin, in real Chromium:
``fetch`` POSTs JSON to it, as a web app holding a presigned URL would. The
token routes follow the widget routes' CORS rules: a page on an allowed origin
records feedback and reads the answer; any other page is stopped at the
preflight and records nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.sync_api import Page

from tests.browser.conftest import feedback_on, make_run
from tests.browser.servers import HostPage, LiveApp, host_page

FETCH = """async (url) => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({score: 1, comment: "sent from the page", metadata: {page: "/chat"}}),
    });
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {error: String(error)};
  }
}"""


def langsmith_token(live: LiveApp, run_id: str) -> dict[str, Any]:
    response = httpx.post(
        f"{live.url}/api/v1/feedback/tokens",
        json={"run_id": run_id, "feedback_key": "helpful"},
        headers={"x-api-key": live.admin_key},
    )
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


def test_a_page_on_an_allowed_origin_posts_to_the_token_url(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    run_id = make_run(live)
    token = langsmith_token(live, run_id)
    assert token["url"].startswith(live.url)
    page.goto(host.origin)
    result = page.evaluate(FETCH, token["url"])
    assert result["status"] == 200, result
    assert result["body"]["run_id"] == run_id
    [record] = feedback_on(live, run_id)
    assert (record["score"], record["comment"]) == (1, "sent from the page")
    assert record["sourceType"] == "APP"


def test_a_page_on_another_origin_is_refused_and_records_nothing(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    """The project allows ``host``'s origin only; this page is on another one."""
    run_id = make_run(live)
    token = langsmith_token(live, run_id)
    with host_page() as stranger:
        page.goto(stranger.origin)
        result = page.evaluate(FETCH, token["url"])
    # The preflight was refused, so the POST was never sent: had it been, the
    # server would have stored the feedback before the browser saw its answer.
    assert "error" in result and "Failed to fetch" in result["error"], result
    assert feedback_on(live, run_id) == []


def test_an_allowed_page_reads_the_errors_too(live: LiveApp, host: HostPage, page: Page) -> None:
    """A made-up token id is a 404 the allowed page can read, not a CORS error."""
    page.goto(host.origin)
    missing = f"{live.url}/api/v1/feedback/tokens/{uuid.uuid4()}"
    result = page.evaluate(FETCH, missing)
    assert result["status"] == 404, result
    assert result["body"]["error"] == "not_found"
