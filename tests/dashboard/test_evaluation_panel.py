"""The dashboard's online evaluation panel in headless Chromium: the rules with the
numbers GraphQL gives, and a rule's mean score per day next to people's on the
same runs. Screenshot: tests/artifacts/dashboard-evaluation.png."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser

from app.settings import Settings
from tests.autofeedback.waiting import eventually
from tests.live import make_project_sync
from tests.pipelines_support import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
RULES = """{ evaluationRules { id name counts { sampled evaluated pending }
  quality(after: "%s") { meanScore agreement compared } } }"""
SERIES = """query($id: ID!, $after: DateTime) { evaluationRule(id: $id) {
  series(after: $after) { time quality { meanScore peopleMean } } } }"""


class Api:
    def __init__(self, server: LiveServer, key: str) -> None:
        self.server = server
        self.key = key

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(base_url=self.server.url) as client:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {self.key}"},
            )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


async def test_rules_and_the_score_next_to_peoples(
    server: LiveServer, settings: Settings, browser: Browser
) -> None:
    keys = await asyncio.to_thread(make_project_sync, settings, "acme")
    api = Api(server, keys.admin)
    created = await api(
        "mutation($input: EvaluationRuleInput!) { createEvaluationRule(input: $input) "
        "{ rule { id } } }",
        {
            "input": {
                "name": "mentions refunds",
                "key": "refund",
                "samplingRate": 1,
                "scorer": {"kind": "CHECK", "check": {"type": "CONTAINS_ANY", "words": ["refund"]}},
            }
        },
    )
    rule_id = created["createEvaluationRule"]["rule"]["id"]
    today = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    plan = [  # (days ago, output, people's score or None)
        (2, "refund issued", True),
        (2, "refund later", False),
        (2, "no idea", None),
        (1, "your refund", True),
        (1, "sorry", False),
        (0, "a refund", True),
    ]
    runs = [
        {
            "id": str(uuid.uuid4()),
            "outputs": output,
            "startTime": (today - timedelta(days=ago)).isoformat(),
        }
        for ago, output, _ in plan
    ]
    await api("mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }", {"runs": runs})
    for run, (_, _, score) in zip(runs, plan, strict=True):
        if score is not None:
            await api(
                "mutation($r: ID!, $s: Score) { createFeedback(input: {runId: $r, key: "
                '"refund", score: $s, userId: "ann", sourceType: HUMAN}) { id } }',
                {"r": run["id"], "s": score},
            )
    after = (today - timedelta(days=29)).replace(hour=0).isoformat()

    async def evaluated() -> bool:
        data = await api(RULES % after)
        return bool(data["evaluationRules"][0]["counts"]["evaluated"] == 6)

    await eventually(evaluated, "the six runs to be scored")
    expected = (await api(RULES % after))["evaluationRules"][0]
    series = (await api(SERIES, {"id": rule_id, "after": after}))["evaluationRule"]["series"]
    assert len(series) == 3

    page = await browser.new_page(viewport={"width": 1200, "height": 1600})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await page.goto(server.url + "/dashboard")
    await page.get_by_test_id("key-input").fill(keys.read)
    await page.get_by_test_id("key-submit").click()
    row = page.locator(f'#evaluation-rules tr[data-rule-id="{rule_id}"]')
    await row.wait_for()
    cells = await row.locator("td").all_text_contents()
    assert cells[0] == "mentions refunds" and cells[1] == "refund"
    assert cells[4:9] == ["6", "6", "0", "0", "0"]
    assert cells[9] == f"{expected['quality']['meanScore']:.2f}"
    agreement = expected["quality"]["agreement"]
    assert cells[10] == f"{agreement * 100:.1f}% ({expected['quality']['compared']})"

    await row.click()
    chart = page.get_by_test_id("evaluation-chart")
    await page.wait_for_function(
        "() => document.querySelectorAll('#evaluation-chart circle.rule').length === 3"
    )
    for name, field in (("rule", "meanScore"), ("people", "peopleMean")):
        dots = chart.locator(f"circle.{name}")
        plotted = [
            float(await dots.nth(i).get_attribute("data-mean") or "nan")
            for i in range(await dots.count())
        ]
        assert plotted == pytest.approx(
            [p["quality"][field] for p in series if p["quality"][field] is not None]
        ), name
    ARTIFACTS.mkdir(exist_ok=True)
    await page.locator("#evaluation").screenshot(path=str(ARTIFACTS / "dashboard-evaluation.png"))
    assert problems == []
    await page.close()
