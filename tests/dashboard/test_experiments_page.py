"""The experiment comparison page in headless Chromium: two experiments over one
dataset, per key the numbers GraphQL gives, and the example where they disagree
first. Screenshot: tests/artifacts/dashboard-experiments.png."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser

from app.settings import Settings
from tests.live import make_project_sync
from tests.pipelines_support import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


async def post(http: httpx.AsyncClient, path: str, body: Any) -> Any:
    response = await http.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def experiment(
    http: httpx.AsyncClient, name: str, dataset_id: str, examples: list[dict[str, Any]],
    answers: list[int],
) -> str:  # fmt: skip
    """An experiment: a run per example answering ``answers``, scored exact or not."""
    session = await post(http, "/sessions", {"name": name, "reference_dataset_id": dataset_id})
    runs = [
        {
            "id": str(uuid.uuid4()),
            "name": "target",
            "run_type": "chain",
            "session_id": session["id"],
            "reference_example_id": example["id"],
            "inputs": example["inputs"],
            "outputs": {"sum": answer},
        }
        for example, answer in zip(examples, answers, strict=True)
    ]
    await post(http, "/runs/batch", {"post": runs})
    for run, example in zip(runs, examples, strict=True):
        right = run["outputs"]["sum"] == example["outputs"]["sum"]
        await post(http, "/feedback", {"run_id": run["id"], "key": "exact", "score": int(right)})
    return str(session["id"])


async def test_two_experiments_side_by_side(
    server: LiveServer, settings: Settings, browser: Browser
) -> None:
    keys = await asyncio.to_thread(make_project_sync, settings, "acme")
    async with httpx.AsyncClient(base_url=server.url, headers={"x-api-key": keys.admin}) as http:
        dataset = await post(http, "/datasets", {"name": "sums"})
        examples = await post(
            http,
            "/examples/bulk",
            [
                {"dataset_id": dataset["id"], "inputs": {"a": a}, "outputs": {"sum": a + 1}}
                for a in (1, 2, 3)
            ],
        )
        await experiment(http, "baseline", dataset["id"], examples, [2, 3, 4])
        await experiment(http, "candidate", dataset["id"], examples, [2, 9, 4])

    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await page.goto(server.url + "/dashboard/experiments")
    await page.get_by_test_id("key-input").fill(keys.read)
    await page.get_by_test_id("key-submit").click()
    await page.get_by_test_id("experiment-list").get_by_label("baseline").wait_for()
    await page.get_by_test_id("compare").click()
    summary = page.get_by_test_id("summary-table").locator("tbody tr")
    await summary.first.wait_for()
    rows = [await summary.nth(i).locator("th, td").all_text_contents() for i in range(2)]
    # Experiments in the order the dataset lists them: newest first.
    assert rows == [
        ["exact", "candidate", "3", "0.67", "1.00", "67%"],
        ["exact", "baseline", "3", "1.00", "1.00", "100%"],
    ]
    examples_rows = page.get_by_test_id("examples-table").locator("tbody tr")
    first = await examples_rows.first.locator("td").all_text_contents()
    assert first[0] == '{"a":2}' and first[1] == '{"sum":3}'
    assert first[2] == '{"sum":9} (exact 0.00)' and first[3] == '{"sum":3} (exact 1.00)'
    assert first[4] == "1.00"
    assert await examples_rows.count() == 3
    # Then in the dataset's order.
    rest = [await examples_rows.nth(i).locator("td").first.text_content() for i in (1, 2)]
    assert rest == ['{"a":1}', '{"a":3}']
    assert await examples_rows.nth(1).get_attribute("data-disagreement") == "0"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-experiments.png"), full_page=True)
    assert problems == []
    await page.close()
