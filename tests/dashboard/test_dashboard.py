"""The dashboard in headless Chromium: it loads with no console errors, shows the
numbers GraphQL returns for seeded data, follows a worst run to its feedback, and
updates when new feedback arrives. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from app.domain.analytics import windows
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.auth import create_key
from app.domain.feedback import FeedbackWrite, create_feedback
from app.domain.feedback_keys import KeyConfig, register_key
from app.domain.runs import RunWrite, ingest_runs
from app.store import Stores
from tests.conftest import Keys
from tests.pipelines_support import CHANGE, LiveServer, written_at

DASH = "\u2013"  # what the page shows for a missing number
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BOARD = """query($filter: FeedbackStatsFilter!, $after: DateTime) {
  summary: feedbackStats(filter: $filter, comments: 10) {
    groups { count mean p50 p90 stddev positiveShare negativeShare comments { comment } }
  }
  series: feedbackStats(filter: $filter, groupBy: [{dimension: TIME, bucket: DAY}]) {
    groups { time count mean }
  }
  worst: worstRuns(keys: ["rating"], after: $after, first: 10) { runId negative }
}"""


async def seed(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> tuple[Keys, list[str]]:
    """A week of ratings with comments, written in the past; rollups rebuilt."""
    project = await stores.projects.create("acme")
    secrets = {r: (await create_key(stores, project.id, r))[1] for r in ("admin", "ingest", "read")}
    keys = Keys(project_id=project.id, **secrets)
    await register_key(stores, project.id, "rating", KeyConfig(kind="continuous", min=1, max=5))
    runs = [str(uuid.uuid4()) for _ in range(6)]
    await ingest_runs(
        stores, project.id, [RunWrite(id=r, name=f"chat {i}") for i, r in enumerate(runs)]
    )
    today = windows.floor(datetime.now(UTC), "day")
    plan = [
        (6, runs[0], 1, "wrong answer"),
        (6, runs[0], 2, None),
        (5, runs[1], 5, "perfect"),
        (3, runs[2], 4, None),
        (3, runs[3], 2, "too slow"),
        (1, runs[4], 5, None),
        (1, runs[0], 1, "still wrong"),
        (0, runs[5], 3, "okay"),
    ]
    for days_ago, run, score, comment in plan:
        at = today - timedelta(days=days_ago) + timedelta(minutes=5)
        with written_at(monkeypatch, min(at, datetime.now(UTC))):
            write = FeedbackWrite(run_id=run, key="rating", score=score)
            if comment:
                write.comment = comment
            await create_feedback(stores, project.id, write, CHANGE)
    await rebuild_rollups(stores, project.id)
    return keys, runs


async def graphql(server: LiveServer, key: str, query: str, variables: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {key}"},
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def stat(page: Page, name: str) -> str:
    return (await page.locator(f'[data-stat="{name}"]').text_content() or "").strip()


def count_is(n: int) -> str:
    """JavaScript: whether the page shows ``n`` feedback records."""
    return f"() => document.querySelector('[data-stat=\"count\"]').textContent === '{n}'"


def fmt(value: float | None) -> str:
    if value is None:
        return DASH
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


async def test_dashboard_shows_graphql_numbers_and_updates_live(
    server: LiveServer, stores: Stores, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys, runs = await seed(stores, monkeypatch)
    monkeypatch.undo()  # live writes below happen now
    ARTIFACTS.mkdir(exist_ok=True)
    after = (windows.floor(datetime.now(UTC), "day") - timedelta(days=29)).isoformat()
    expected = await graphql(
        server, keys.read, BOARD, {"filter": {"keys": ["rating"], "after": after}, "after": after}
    )
    [summary] = expected["summary"]["groups"]
    assert summary["count"] == 8

    context = await browser.new_context(viewport={"width": 1200, "height": 1400})
    page = await context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    await page.goto(server.url + "/dashboard")
    await page.get_by_test_id("key-input").fill(keys.read)
    await page.get_by_test_id("key-submit").click()
    await page.wait_for_function(count_is(8))
    assert keys.read not in page.url
    assert await page.evaluate("sessionStorage.getItem('plaudit.apiKey')") == keys.read

    # The numbers are GraphQL's.
    assert await stat(page, "mean") == fmt(summary["mean"])
    assert await stat(page, "p50") == fmt(summary["p50"])
    assert await stat(page, "p90") == fmt(summary["p90"])
    assert await stat(page, "stddev") == fmt(summary["stddev"])
    assert await stat(page, "positiveShare") == pct(summary["positiveShare"])
    assert await stat(page, "negativeShare") == pct(summary["negativeShare"])
    series = expected["series"]["groups"]
    assert len(series) == 30
    circles = page.locator("#series-chart circle")
    assert await circles.count() == sum(1 for g in series if g["mean"] is not None)
    plotted = [
        float(await circles.nth(i).get_attribute("data-mean") or "nan")
        for i in range(await circles.count())
    ]
    assert plotted == pytest.approx([g["mean"] for g in series if g["mean"] is not None])
    bars = page.locator("#series-chart .bars rect")
    bar_counts = [
        int(await bars.nth(i).get_attribute("data-count") or "0") for i in range(await bars.count())
    ]
    assert bar_counts == [g["count"] for g in series if g["count"]]
    shown_comments = await page.locator("#comments q").all_text_contents()
    assert shown_comments == [c["comment"] for c in summary["comments"]]
    rows = page.locator("#worst-runs tr")
    assert [await rows.nth(i).get_attribute("data-run-id") for i in range(await rows.count())] == [
        w["runId"] for w in expected["worst"]
    ]
    assert expected["worst"][0]["runId"] == runs[0]
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # A worst run links to its feedback.
    await rows.first.locator("a").click()
    await page.get_by_test_id("run-panel").wait_for(state="visible")
    await page.wait_for_function("() => document.querySelectorAll('#run-feedback tr').length === 3")
    assert set(await page.locator("#run-feedback tr td:nth-child(3)").all_text_contents()) == {
        "wrong answer",
        "still wrong",
        "",
    }

    # Live: new feedback from another client shows up without a reload.
    await page.wait_for_function(
        "() => document.getElementById('live-status').dataset.state === 'on'"
    )
    written = 0
    for _ in range(20):
        await graphql(
            server,
            keys.ingest,
            "mutation($input: FeedbackInput!) { createFeedback(input: $input) { id } }",
            {
                "input": {
                    "runId": runs[5],
                    "key": "rating",
                    "score": 5,
                    "comment": f"fresh {written}",
                }
            },
        )
        written += 1
        try:
            await page.wait_for_function(count_is(8 + written), timeout=3000)
            break
        except PlaywrightTimeout:  # the subscription was not registered yet: write again
            continue
    assert await stat(page, "count") == str(8 + written)
    assert "fresh" in (await page.locator("#comments q").first.text_content() or "")
    assert "events" in (await page.get_by_test_id("live-status").text_content() or "")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-live.png"), full_page=True)

    # The key survives a reload of the tab (sessionStorage), and nothing left the host.
    await page.reload()
    await page.wait_for_function(count_is(8 + written))
    assert await page.locator("#key-form").is_hidden()
    host = server.url
    assert all(u.startswith((host, host.replace("http", "ws"), "data:")) for u in requested), (
        requested
    )
    assert problems == []
    await context.close()


async def test_a_wrong_key_is_refused_in_the_page(
    server: LiveServer, stores: Stores, browser: Browser
) -> None:
    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    await page.goto(server.url + "/dashboard")
    await page.get_by_test_id("key-input").fill("plaudit_wrong")
    await page.get_by_test_id("key-submit").click()
    await page.locator("#key-error").wait_for(state="visible")
    assert "invalid API key" in (await page.locator("#key-error").text_content() or "")
    assert await page.evaluate("sessionStorage.getItem('plaudit.apiKey')") is None
    assert problems == []
    await page.close()


async def test_the_page_is_served_with_a_strict_policy(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        page = await client.get("/dashboard")
        script = await client.get("/dashboard/assets/dashboard.js")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
