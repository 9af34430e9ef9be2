"""The board's numbers read right, in headless Chromium, on seeded data: an
unregistered 0/1 key counts its thumbs-down as negative; the y-axis spans the key's
range; the distribution shows counts; worst runs show the run's name and input; the
run panel shows inputs and outputs; grouping by model, tag and user, comparing with
the previous period, and downloading the view as CSV and JSON Lines. Every number
is checked against GraphQL. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from app.domain.analytics import windows
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.auth import create_key
from app.domain.feedback import FeedbackWrite, create_feedback
from app.domain.feedback_keys import KeyConfig, register_key
from app.domain.runs import RunWrite, ingest_runs
from app.store import Stores
from tests.conftest import Keys
from tests.dashboard.test_dashboard import fmt, graphql, pct
from tests.pipelines_support import CHANGE, LiveServer, written_at

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
MODELS = ("gpt-small", "gpt-large")
QUESTIONS = (
    "How do I reset the password on my account?",
    "Which plan includes single sign-on for the whole team?",
    "Can I export my invoices as CSV for last year?",
    "Why was my card declined when I upgraded?",
)
NUMBERS = "count scored mean min max p50 p90 stddev positive negative positiveShare negativeShare"
STATS = f"""query($filter: FeedbackStatsFilter!, $by: [StatsGroupBy!]) {{
  feedbackStats(filter: $filter, groupBy: $by, comments: 0) {{
    groups {{ model tag userId {NUMBERS} distribution {{ low high count }} }}
  }}
}}"""
WORST = """query($after: DateTime) {
  worstRuns(keys: ["thumbs"], after: $after, first: 10) { runId negative run { name } }
}"""


async def seed(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> tuple[Keys, dict[str, Any]]:
    """Twelve support runs (two models, tags, users) with thumbs on an unregistered
    key scored 0/1 (the quickstart's), and a registered 1-5 rating; in this week and
    the week before; rollups rebuilt."""
    project = await stores.projects.create("acme")
    secrets = {r: (await create_key(stores, project.id, r))[1] for r in ("admin", "ingest", "read")}
    keys = Keys(project_id=project.id, **secrets)
    await register_key(stores, project.id, "rating", KeyConfig(kind="continuous", min=1, max=5))
    runs = [str(uuid.uuid4()) for _ in range(12)]
    await ingest_runs(
        stores,
        project.id,
        [
            RunWrite(
                id=run,
                name=f"support answer {i}",
                inputs={
                    "messages": [
                        {"role": "system", "content": "You are a helpful support agent."},
                        {"role": "user", "content": QUESTIONS[i % 4]},
                    ]
                },
                outputs={"content": f"Answer {i}: go to Settings, then Billing."},
                model=MODELS[i % 2],
                tags=["prod", "eu" if i % 3 else "us"],
            )
            for i, run in enumerate(runs)
        ],
    )
    today = windows.floor(datetime.now(UTC), "day")
    # (days ago, run, thumbs, rating, user): this week on days 0-5, the week before
    # on days 8-12, so a day boundary passing during the test moves nothing across.
    plan = [
        (0, 0, 1, 5, "ana"),
        (1, 1, 0, 1, "ben"),
        (1, 2, 1, 4, "ana"),
        (2, 3, 1, 4, "cy"),
        (2, 4, 1, 5, "ben"),
        (3, 5, 0, 2, "cy"),
        (3, 6, 1, 3, "ana"),
        (4, 7, 1, 4, "ben"),
        (5, 8, 0, 1, "cy"),
        (5, 9, 1, 5, "ana"),
        (8, 10, 1, 4, "ben"),
        (9, 11, 1, 5, "ana"),
        (10, 0, 0, 2, "cy"),
        (11, 1, 1, 4, "ana"),
        (12, 2, 1, 3, "ben"),
    ]
    comments = {1: "It sent me to the wrong page", 5: "Did not answer the question", 9: "Quick"}
    for days_ago, run, thumbs, rating, user in plan:
        at = min(today - timedelta(days=days_ago) + timedelta(hours=12), datetime.now(UTC))
        with written_at(monkeypatch, at):
            for key, score in (("thumbs", thumbs), ("rating", rating)):
                write = FeedbackWrite(run_id=runs[run], key=key, score=score, user_id=user)
                if key == "thumbs" and days_ago < 7 and run in comments:
                    write.comment = comments[run]
                await create_feedback(stores, project.id, write, CHANGE)
    await rebuild_rollups(stores, project.id)
    return keys, {"runs": runs}


async def settled(page: Page) -> None:
    """The board has finished its latest refresh."""
    await page.wait_for_function(
        "() => { const b = document.getElementById('board');"
        " return b.dataset.loading === 'false' && b.dataset.refreshedAt; }"
    )


async def choose(page: Page, test_id: str, value: str) -> None:
    await page.evaluate("() => { delete document.getElementById('board').dataset.refreshedAt; }")
    await page.get_by_test_id(test_id).select_option(value)
    await settled(page)


async def texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_text_contents()]


async def downloaded(page: Page, test_id: str) -> tuple[str, str]:
    """Click a download button; the file's suggested name and its text."""
    async with page.expect_download() as info:
        await page.get_by_test_id(test_id).click()
    download = await info.value
    path = await download.path()
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    return download.suggested_filename, text


async def open_board(page: Page, server: LiveServer, keys: Keys) -> None:
    await page.goto(server.url + "/dashboard")
    await page.get_by_test_id("key-input").fill(keys.read)
    await page.get_by_test_id("key-submit").click()
    await settled(page)
    await choose(page, "key-select", "thumbs")
    await choose(page, "window-select", "7d")


async def test_an_unregistered_thumbs_key_reads_right(
    server: LiveServer, stores: Stores, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys, seeded = await seed(stores, monkeypatch)
    monkeypatch.undo()
    ARTIFACTS.mkdir(exist_ok=True)
    context = await browser.new_context(viewport={"width": 1200, "height": 1500})
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    await open_board(page, server, keys)
    after = await page.locator("#board").get_attribute("data-after")
    [summary] = (
        await graphql(server, keys.read, STATS, {"filter": {"keys": ["thumbs"], "after": after}})
    )["feedbackStats"]["groups"]

    # Seven thumbs up and three down this week: 30% negative, not 0%.
    assert (summary["count"], summary["positive"], summary["negative"]) == (10, 7, 3)
    assert await page.locator('[data-stat="negativeShare"]').text_content() == "30.0%"
    assert await page.locator('[data-stat="positiveShare"]').text_content() == pct(
        summary["positiveShare"]
    )
    assert await page.get_by_test_id("key-rule").text_content() == (
        "thumbs: boolean, inferred (unregistered); positive above 0.50"
    )
    # The y-axis spans the key's range, 0 to 1.
    assert await texts(page, "#series-chart text.y") == ["0", "0.50", "1"]
    # The distribution shows counts, by answer.
    bars = page.locator("#distribution-chart rect")
    assert [await bars.nth(i).get_attribute("data-count") for i in range(await bars.count())] == [
        str(b["count"]) for b in summary["distribution"]
    ]
    assert await texts(page, "#distribution-chart text.count") == ["3", "7"]
    assert [await bars.nth(i).get_attribute("data-label") for i in range(await bars.count())] == [
        "No (0)",
        "Yes (1)",
    ]

    # Worst runs: the run's name and the start of its input, not an id.
    worst = (await graphql(server, keys.read, WORST, {"after": after}))["worstRuns"]
    assert len(worst) == 3
    rows = page.locator("#worst-runs tr")
    assert await rows.count() == 3
    assert await texts(page, "#worst-runs td:nth-child(1)") == [w["run"]["name"] for w in worst]
    index = {run: i for i, run in enumerate(seeded["runs"])}
    assert await texts(page, "#worst-runs td.input") == [
        QUESTIONS[index[w["runId"]] % 4] for w in worst
    ]
    await page.screenshot(path=str(ARTIFACTS / "dashboard-thumbs.png"), full_page=True)

    # The run panel: inputs and outputs, then the feedback.
    await rows.first.locator("a").click()
    panel = page.get_by_test_id("run-panel")
    await panel.wait_for(state="visible")
    first = index[worst[0]["runId"]]
    await page.wait_for_function(
        "id => document.getElementById('run-panel').dataset.runId === id", arg=worst[0]["runId"]
    )
    inputs = await page.get_by_test_id("run-inputs").text_content() or ""
    assert json.loads(inputs)["messages"][1]["content"] == QUESTIONS[first % 4]
    outputs = await page.get_by_test_id("run-outputs").text_content() or ""
    assert json.loads(outputs) == {"content": f"Answer {first}: go to Settings, then Billing."}
    assert await page.locator("#run-panel-name").text_content() == f"support answer {first}"
    assert MODELS[first % 2] in (await page.locator("#run-panel-meta").text_content() or "")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-run.png"), full_page=True)

    # A registered 1-5 key: the y-axis spans 1 to 5.
    await choose(page, "key-select", "rating")
    assert await texts(page, "#series-chart text.y") == ["1", "3", "5"]
    assert problems == []
    await context.close()


def breakdown_row(by: str, group: dict[str, Any]) -> list[str]:
    value = group[{"MODEL": "model", "TAG": "tag", "USER": "userId"}[by]]
    return [
        value if value is not None else "(none)",
        str(group["count"]),
        fmt(group["mean"]),
        pct(group["positiveShare"]),
        pct(group["negativeShare"]),
    ]


async def shown_rows(page: Page) -> list[list[str]]:
    rows = page.locator("#breakdown tr")
    return [
        [t.strip() for t in await rows.nth(i).locator("td").all_text_contents()]
        for i in range(await rows.count())
    ]


async def test_group_compare_and_download(
    server: LiveServer, stores: Stores, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys, _ = await seed(stores, monkeypatch)
    monkeypatch.undo()
    ARTIFACTS.mkdir(exist_ok=True)
    context = await browser.new_context(
        viewport={"width": 1200, "height": 1600}, accept_downloads=True
    )
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    await open_board(page, server, keys)
    after = await page.locator("#board").get_attribute("data-after")
    now = {"keys": ["thumbs"], "after": after}

    async def expected(by: str, filter: dict[str, Any]) -> list[dict[str, Any]]:
        data = await graphql(
            server, keys.read, STATS, {"filter": filter, "by": [{"dimension": by}]}
        )
        groups: list[dict[str, Any]] = data["feedbackStats"]["groups"]
        return groups

    # Group by model, tag and user: the rows are GraphQL's.
    assert await page.get_by_test_id("breakdown").is_hidden()
    for by in ("MODEL", "TAG", "USER"):
        await choose(page, "group-select", by)
        assert await shown_rows(page) == [breakdown_row(by, g) for g in await expected(by, now)]
    await choose(page, "group-select", "MODEL")
    models = await expected("MODEL", now)
    assert {g["model"] for g in models} == set(MODELS)

    # Compare with the previous period: the cards say what it was.
    await page.evaluate("() => { delete document.getElementById('board').dataset.refreshedAt; }")
    await page.get_by_test_id("compare").check()
    await settled(page)
    before_after = await page.locator("#board").get_attribute("data-previous-after")
    assert before_after == (
        datetime.fromisoformat(after or "") - timedelta(days=7)
    ).isoformat().replace("+00:00", ".000Z")
    earlier = {"keys": ["thumbs"], "after": before_after, "before": after}
    [previous] = (await graphql(server, keys.read, STATS, {"filter": earlier}))["feedbackStats"][
        "groups"
    ]
    assert (previous["count"], previous["negative"]) == (5, 1)
    assert await page.locator('[data-delta="negativeShare"]').text_content() == (
        "was 20.0% (+10.0 pts)"
    )
    assert await page.locator('[data-delta="count"]').text_content() == "was 5 (+5)"
    assert await page.locator("#series-chart path.previous-line").count() == 1
    old_models = {g["model"]: g for g in await expected("MODEL", earlier)}
    assert await shown_rows(page) == [
        [
            *breakdown_row("MODEL", g),
            fmt(old_models[g["model"]]["mean"]),
            pct(old_models[g["model"]]["positiveShare"]),
            pct(old_models[g["model"]]["negativeShare"]),
        ]
        for g in models
    ]
    await page.screenshot(path=str(ARTIFACTS / "dashboard-compare.png"), full_page=True)

    # Download the view: one row per model, this period and the one before.
    name, text = await downloaded(page, "download-csv")
    assert name == "plaudit-thumbs-model-7d.csv"
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["model"] for r in table] == [g["model"] for g in models]
    for row, group in zip(table, models, strict=True):
        assert row["key"] == "thumbs" and row["windowStart"] == after
        for name in ("count", "positive", "negative"):
            assert int(row[name]) == group[name], name
        for name in ("mean", "positiveShare", "negativeShare", "p50"):
            assert float(row[name]) == pytest.approx(group[name]), name
        old = old_models[group["model"]]
        assert int(row["previousCount"]) == old["count"]
        assert float(row["previousNegativeShare"]) == pytest.approx(old["negativeShare"])

    name, text = await downloaded(page, "download-jsonl")
    assert name == "plaudit-thumbs-model-7d.jsonl"
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["model"], r["count"], r["negative"]) for r in records] == [
        (g["model"], g["count"], g["negative"]) for g in models
    ]
    assert [r["previousMean"] for r in records] == pytest.approx(
        [old_models[g["model"]]["mean"] for g in models]
    )

    # Ungrouped, the view is the time series: one row per day.
    await choose(page, "group-select", "")
    name, text = await downloaded(page, "download-jsonl")
    assert name == "plaudit-thumbs-time-7d.jsonl"
    days = [json.loads(line) for line in text.splitlines()]
    series = (
        await graphql(
            server,
            keys.read,
            STATS,
            {"filter": now, "by": [{"dimension": "TIME", "bucket": "DAY"}]},
        )
    )["feedbackStats"]["groups"]
    assert len(days) == len(series) == 7
    assert [(d["count"], d["negative"]) for d in days] == [
        (g["count"], g["negative"]) for g in series
    ]
    assert sum(d["count"] for d in days) == 10
    assert problems == []
    await context.close()
