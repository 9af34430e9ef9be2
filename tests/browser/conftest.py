"""Real headless Chromium (Debian's) through Playwright's sync API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from app.settings import Settings
from tests.browser.servers import CHROMIUM_ARGS, HostPage, LiveApp, host_page, live_app

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def live(settings: Settings, sync_db: Any) -> Iterator[LiveApp]:
    with live_app(settings) as app:
        yield app


@pytest.fixture
def host(live: LiveApp) -> Iterator[HostPage]:
    """A page of another origin, which the project lists in allowedOrigins."""
    with host_page() as page:
        live.graphql(
            "mutation($o: [String!]) { updateProject(input: {allowedOrigins: $o}) { id } }",
            {"o": [page.origin]},
        )
        yield page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def make_run(live: LiveApp) -> str:
    run_id = str(uuid.uuid4())
    live.graphql(
        "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }",
        {"runs": [{"id": run_id, "name": "chat"}]},
    )
    return run_id


def issue(live: LiveApp, run_id: str, key: str = "helpful", **extra: Any) -> dict[str, Any]:
    data = live.graphql(
        """mutation($inputs: [FeedbackTokenInput!]!) {
             createFeedbackTokens(inputs: $inputs) { token emailUrl feedbackToken { id } } }""",
        {"inputs": [{"runId": run_id, "key": key, **extra}]},
    )
    issued: dict[str, Any] = data["createFeedbackTokens"][0]
    return issued


def feedback_on(live: LiveApp, run_id: str) -> list[dict[str, Any]]:
    data = live.graphql(
        """query($r: ID!) { feedback(filter: {runIds: [$r]}) {
             nodes { key score comment sourceType retracted } } }""",
        {"r": run_id},
    )
    nodes: list[dict[str, Any]] = data["feedback"]["nodes"]
    return nodes
