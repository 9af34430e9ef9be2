"""The review workspace (/dashboard/review) in real Chromium: claim, read, fill,
submit and skip, with the mouse and the keyboard; validator errors in place; two
reviewers never handed the same run; pairwise preferences and ties; reviewer
links that need no key, stay within their task, expire and can be revoked.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from app import clock
from tests.browser.servers import LiveApp

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "Coherence": {
            "type": "integer",
            "minimum": 1,
            "maximum": 7,
            "description": "1 = incoherent, 7 = reads perfectly",
        },
        "Faithful": {"type": "boolean", "description": "Only claims the source supports"},
        "Issue": {"enum": ["none", "hallucination", "omission"]},
        "Notes": {"type": "string", "minLength": 3},
    },
    "required": ["Coherence", "Faithful"],
    "additionalProperties": False,
}
INSTRUCTIONS = "Read the **conversation**, then grade the answer.\n\n- Be strict\n- Be quick"
INJECTION = '<img src=x onerror="window.pwned = 1"> and [click me](javascript:window.pwned=2)'
ANSWER = (
    "## Summary\n\nThe **Eiffel Tower** is in *Paris*. See "
    "[the source](https://example.org/eiffel).\n\n```\ncode stays code\n```\n\n" + INJECTION
)
METADATA = {"prompt": {"version": "v7", "template": "x" * 800}, "trace": list(range(120))}

CREATE_TASK = """
mutation($name: String!, $schema: JSON!, $instructions: String, $tags: [String!]) {
  createFeedbackTask(name: $name, schema: $schema, instructions: $instructions,
                     runTagSelector: $tags) { id name }
}"""
INGEST = "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }"
SUBMISSIONS = """
query($t: ID!) { taskSubmissions(taskId: $t, first: 100) { nodes { runId reviewer values } } }"""
QUEUE = "query($t: ID!) { reviewQueue(taskId: $t) { nodes { run { id } leasedBy } } }"


def make_task(live: LiveApp, name: str = "Summary grading", tag: str = "summary") -> str:
    data = live.graphql(
        CREATE_TASK, {"name": name, "schema": SCHEMA, "instructions": INSTRUCTIONS, "tags": [tag]}
    )
    task_id: str = data["createFeedbackTask"]["id"]
    return task_id


def make_runs(live: LiveApp, *runs: dict[str, Any]) -> list[str]:
    """Ingest runs a minute apart (so the queue's order is theirs)."""
    payload = []
    base = clock.now() - timedelta(hours=1)
    for i, run in enumerate(runs):
        payload.append(
            {
                "id": str(uuid.uuid4()),
                "startTime": (base + timedelta(minutes=i)).isoformat(),
                **run,
            }
        )
    live.graphql(INGEST, {"runs": payload})
    return [r["id"] for r in payload]


def chat_run(i: int, tag: str = "summary") -> dict[str, Any]:
    return {
        "name": f"answer {i}",
        "model": "gpt-test",
        "tags": [tag, "prod"],
        "inputs": {
            "messages": [
                {"role": "system", "content": "You answer questions about landmarks."},
                {"role": "user", "content": f"Where is the Eiffel Tower? ({i})"},
            ]
        },
        "outputs": ANSWER,
        "metadata": METADATA,
    }


def submissions(live: LiveApp, task_id: str) -> dict[str, dict[str, Any]]:
    nodes = live.graphql(SUBMISSIONS, {"t": task_id})["taskSubmissions"]["nodes"]
    return {n["runId"]: n for n in nodes}


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    yield ctx
    ctx.close()


def watch(page: Page) -> list[str]:
    """Collect page errors and console errors."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    return problems


def open_with_key(page: Page, live: LiveApp, name: str) -> None:
    page.goto(f"{live.url}/dashboard/review")
    page.get_by_test_id("access-key").fill(live.admin_key)
    page.get_by_test_id("access-name").fill(name)
    page.get_by_test_id("access-submit").click()
    expect(page.get_by_test_id("reviewer-name")).to_have_text(name)


def shown_run(page: Page) -> Any:
    return page.get_by_test_id("review")


def wait_for_run(page: Page, run_id: str) -> None:
    expect(page.locator("#workspace")).to_have_attribute("data-state", "ready")
    expect(shown_run(page)).to_have_attribute("data-run-id", run_id)


def option(page: Page, field: str, label: str) -> Any:
    return page.locator(f'[data-field="{field}"] button.option', has_text=label)


def test_claim_read_fill_submit_and_next_with_mouse_and_keyboard(
    live: LiveApp, context: BrowserContext, artifacts: Path
) -> None:
    task_id = make_task(live)
    runs = make_runs(live, chat_run(0), chat_run(1), chat_run(2), chat_run(3, tag="other"))
    live.graphql(
        'mutation($r: ID!) { createFeedback(input: {runId: $r, key: "thumbs", score: 0, '
        'comment: "too vague", userId: "enduser-7"}) { id } }',
        {"r": runs[0]},
    )
    page = context.new_page()
    problems = watch(page)
    open_with_key(page, live, "ann")
    wait_for_run(page, runs[0])
    progress = page.get_by_test_id("progress")
    expect(progress).to_have_text("3 left in the queue · 0 done by you today")

    # Read: messages as a conversation, Markdown rendered safely, JSON folded.
    messages = page.locator("#run-inputs .message")
    expect(messages).to_have_count(2)
    assert messages.evaluate_all("ms => ms.map(m => m.dataset.role)") == ["system", "user"]
    expect(messages.nth(1)).to_contain_text("Where is the Eiffel Tower? (0)")
    outputs = page.get_by_test_id("run-outputs")
    expect(outputs.locator("h4")).to_have_text("Summary")
    expect(outputs.locator("strong")).to_have_text("Eiffel Tower")
    expect(outputs.locator("pre code")).to_have_text("code stays code")
    expect(outputs.locator("a")).to_have_count(1)
    assert outputs.locator("a").get_attribute("href") == "https://example.org/eiffel"
    assert outputs.locator("a").get_attribute("rel") == "noopener noreferrer nofollow"
    expect(outputs).to_contain_text('<img src=x onerror="window.pwned = 1">')
    expect(outputs).to_contain_text("[click me](javascript:window.pwned=2)")
    assert page.locator("#run img").count() == 0
    assert page.evaluate("window.pwned") is None
    metadata = page.get_by_test_id("run-metadata").locator("details.json-node").first
    assert metadata.evaluate("d => d.open") is False  # long JSON starts folded
    expect(page.get_by_test_id("run-tags").locator("li")).to_have_text(["summary", "prod"])
    earlier = page.get_by_test_id("earlier-feedback")
    expect(earlier).to_contain_text("thumbs")
    expect(earlier).to_contain_text("too vague")
    expect(page.get_by_test_id("instructions").locator("strong")).to_have_text("conversation")
    expect(page.locator('[data-field="Coherence"] .required')).to_have_count(1)
    expect(page.locator('[data-field="Notes"] .required')).to_have_count(0)
    expect(page.locator('[data-field="Coherence"] button.option')).to_have_text(
        [str(v) for v in range(1, 8)]
    )
    expect(page.locator('[data-field="Faithful"] button.option')).to_have_text(["1Yes", "2No"])

    # Fill with the mouse and submit: the next run comes.
    option(page, "Coherence", "6").click()
    option(page, "Faithful", "Yes").click()
    option(page, "Issue", "none").click()
    page.locator('[data-field="Notes"] textarea').fill("Clear and sourced.")
    expect(option(page, "Coherence", "6")).to_have_attribute("aria-pressed", "true")
    page.screenshot(path=str(artifacts / "review.png"), full_page=True)
    page.get_by_test_id("submit").click()
    wait_for_run(page, runs[1])
    expect(progress).to_have_text("2 left in the queue · 1 done by you today")
    first = submissions(live, task_id)[runs[0]]
    assert first["reviewer"] == "ann"
    assert first["values"] == {
        "Coherence": 6,
        "Faithful": True,
        "Issue": "none",
        "Notes": "Clear and sourced.",
    }

    # The keyboard: digits pick and move on, j/k move, Esc leaves a text box, Enter submits.
    page.keyboard.press("5")  # Coherence 5, then Faithful is active
    page.keyboard.press("2")  # Faithful: No
    page.keyboard.press("k")  # back to Faithful
    page.keyboard.press("1")  # Yes, then Issue
    page.keyboard.press("j")  # Notes, its text box focused
    expect(page.locator('[data-field="Notes"] textarea')).to_be_focused()
    page.keyboard.type("kept j and k")
    page.keyboard.press("Escape")
    expect(option(page, "Coherence", "5")).to_have_attribute("aria-pressed", "true")
    expect(option(page, "Faithful", "Yes")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")
    wait_for_run(page, runs[2])
    expect(progress).to_have_text("1 left in the queue · 2 done by you today")
    assert submissions(live, task_id)[runs[1]]["values"] == {
        "Coherence": 5,
        "Faithful": True,
        "Notes": "kept j and k",
    }

    # Skip (s) releases the run and passes over it: nothing is left for ann.
    page.keyboard.press("s")
    expect(page.locator("#workspace")).to_have_attribute("data-state", "empty")
    expect(page.get_by_test_id("empty")).to_be_visible()
    queue = live.graphql(QUEUE, {"t": task_id})["reviewQueue"]["nodes"]
    assert queue == [{"run": {"id": runs[2]}, "leasedBy": None}]
    assert runs[3] not in submissions(live, task_id)
    assert problems == []


def test_validator_errors_are_shown_in_place(
    live: LiveApp, context: BrowserContext, artifacts: Path
) -> None:
    task_id = make_task(live)
    [run_id, next_id] = make_runs(live, chat_run(0), chat_run(1))
    page = context.new_page()
    open_with_key(page, live, "ann")
    wait_for_run(page, run_id)
    page.locator('[data-field="Notes"] textarea').fill("no")
    page.get_by_test_id("submit").click()
    coherence = page.get_by_test_id("error-Coherence")
    expect(coherence).to_have_text("'Coherence' is a required property")
    expect(page.get_by_test_id("error-Faithful")).to_have_text("'Faithful' is a required property")
    expect(page.get_by_test_id("error-Notes")).to_have_text("'no' is too short")
    expect(page.get_by_test_id("error-Issue")).to_be_hidden()
    expect(page.locator('[data-field="Notes"] textarea')).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(artifacts / "review-errors.png"), full_page=True)
    assert submissions(live, task_id) == {}
    # Answering a field clears its error; a valid form goes through.
    option(page, "Coherence", "3").click()
    expect(coherence).to_be_hidden()
    option(page, "Faithful", "No").click()
    page.locator('[data-field="Notes"] textarea').fill("too long-winded")
    page.get_by_test_id("submit").click()
    wait_for_run(page, next_id)
    assert submissions(live, task_id)[run_id]["values"] == {
        "Coherence": 3,
        "Faithful": False,
        "Notes": "too long-winded",
    }


def make_link(live: LiveApp, task_id: str, reviewer: str | None, **extra: Any) -> dict[str, Any]:
    data = live.graphql(
        """mutation($t: ID!, $r: String, $e: Int) {
             createReviewerLink(taskId: $t, reviewer: $r, expiresIn: $e) { url token link { id } }
           }""",
        {"t": task_id, "r": reviewer, **extra},
    )
    issued: dict[str, Any] = data["createReviewerLink"]
    return issued


def answer_and_submit(page: Page) -> None:
    option(page, "Coherence", "4").click()
    option(page, "Faithful", "Yes").click()
    page.get_by_test_id("submit").click()


def test_two_reviewers_are_never_handed_the_same_run(live: LiveApp, browser: Browser) -> None:
    task_id = make_task(live)
    runs = make_runs(live, *[chat_run(i) for i in range(4)])
    pages = []
    for name in ("ann", "bob"):
        ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = ctx.new_page()
        page.goto(make_link(live, task_id, name)["url"])
        expect(page.get_by_test_id("reviewer-name")).to_have_text(name)
        pages.append(page)
    seen: dict[str, list[str]] = {"ann": [], "bob": []}

    def current(page: Page) -> str:
        expect(page.locator("#workspace")).to_have_attribute("data-state", "ready")
        run_id = shown_run(page).get_attribute("data-run-id")
        assert run_id is not None
        return run_id

    # Both hold a run at once, then take turns submitting.
    for _ in range(2):
        for name, page in zip(("ann", "bob"), pages, strict=True):
            run_id = current(page)
            assert run_id not in seen["ann"] + seen["bob"]
            seen[name].append(run_id)
        for page in pages:
            answer_and_submit(page)
    for page in pages:
        expect(page.locator("#workspace")).to_have_attribute("data-state", "empty")
    assert sorted(seen["ann"] + seen["bob"]) == sorted(runs)
    done = submissions(live, task_id)
    assert {run: s["reviewer"] for run, s in done.items()} == {
        **dict.fromkeys(seen["ann"], "ann"),
        **dict.fromkeys(seen["bob"], "bob"),
    }
    for page in pages:
        page.context.close()


def graphql_as(live: LiveApp, authorization: str, query: str, variables: Any = None) -> Any:
    response = httpx.post(
        f"{live.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": authorization},
    )
    return response.json()


def test_reviewer_link_needs_no_key_and_stays_within_its_task(
    live: LiveApp, browser: Browser, context: BrowserContext, artifacts: Path
) -> None:
    task_id = make_task(live)
    other_task = make_task(live, "Chat grading", tag="chat")
    runs = make_runs(live, chat_run(0), chat_run(1), chat_run(2, tag="chat"))

    # The admin makes the link in the review page's links panel.
    admin = context.new_page()
    open_with_key(admin, live, "admin")
    wait_for_run(admin, runs[2])  # the newest task first
    admin.get_by_test_id("task-select").select_option(label="Summary grading")
    wait_for_run(admin, runs[0])
    admin.get_by_test_id("link-name").fill("ann")
    admin.get_by_test_id("link-create").click()
    url_box = admin.get_by_test_id("link-url")
    expect(url_box).to_have_value(re.compile(rf"^{re.escape(live.url)}/dashboard/review#link=\S+$"))
    url = url_box.input_value()
    assert "?" not in url
    links = admin.get_by_test_id("links").locator("tr")
    expect(links).to_have_count(1)
    expect(links.first.locator("td").first).to_have_text("ann")

    # The reviewer: another browser profile, no API key anywhere.
    reviewer = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = reviewer.new_page()
    problems = watch(page)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(url)
    expect(page.get_by_test_id("reviewer-name")).to_have_text("ann")
    wait_for_run(page, runs[1])  # runs[0] is leased to the admin
    # The token left the address bar at once, for sessionStorage only.
    assert page.url == f"{live.url}/dashboard/review"
    token = page.evaluate("sessionStorage.getItem('plaudit.reviewerLink')")
    assert token and url.endswith(token)
    assert page.evaluate("sessionStorage.getItem('plaudit.apiKey')") is None
    expect(page.get_by_test_id("task-name")).to_have_text("Summary grading")
    expect(page.get_by_test_id("mode-pairwise")).to_be_hidden()
    expect(page.get_by_test_id("links-panel")).to_be_hidden()
    page.screenshot(path=str(artifacts / "review-link.png"), full_page=True)

    # Review through the link, with the keyboard.
    page.keyboard.press("4")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#workspace")).to_have_attribute("data-state", "empty")
    progress = page.get_by_test_id("progress")
    expect(progress).to_have_text("1 left in the queue · 1 done by you today")
    assert submissions(live, task_id)[runs[1]]["reviewer"] == "ann"
    assert submissions(live, task_id)[runs[1]]["values"] == {"Coherence": 4, "Faithful": True}

    # The token went only in the ReviewLink header: in no URL, never as a Bearer key.
    api_calls = [r for r in requests if r.url == f"{live.url}/graphql"]
    assert len(api_calls) >= 4
    assert all(r.headers.get("authorization") == f"ReviewLink {token}" for r in api_calls)
    assert not [r.url for r in requests if token in r.url]

    # From the page, and over HTTP, the link reads and writes nothing outside its task.
    outside = [
        ("{ runs { nodes { id outputs } } }", {}),
        ("{ feedbackTasks { nodes { id } } }", {}),
        ("query($id: ID!) { run(id: $id) { outputs } }", {"id": runs[2]}),
        ("query($id: ID!) { feedbackTask(id: $id) { name } }", {"id": other_task}),
        ("query($t: ID!) { reviewQueue(taskId: $t) { nodes { run { id } } } }", {"t": task_id}),
        ("query($t: ID!) { taskSubmissions(taskId: $t) { nodes { values } } }", {"t": task_id}),
        ("{ feedback { nodes { comment } } }", {}),
        ("{ apiKeys { id } }", {}),
        ("mutation($t: ID!) { claimReview(taskId: $t) { run { id } } }", {"t": other_task}),
        (
            "mutation($t: ID!, $r: ID!) { submitTaskFeedback(taskId: $t, runId: $r, "
            "values: {Coherence: 1, Faithful: false}) { reviewCount } }",
            {"t": task_id, "r": runs[0]},
        ),
        (
            'mutation($r: ID!) { createFeedback(input: {runId: $r, key: "k", score: 1}) { id } }',
            {"r": runs[2]},
        ),
    ]
    fetch = """async ([query, variables, token]) => (await fetch("/graphql", {
        method: "POST",
        headers: {"Content-Type": "application/json", Authorization: "ReviewLink " + token},
        body: JSON.stringify({query, variables}),
    })).json()"""
    for query, variables in outside:
        from_page = page.evaluate(fetch, [query, variables, token])
        over_http = graphql_as(live, f"ReviewLink {token}", query, variables)
        for body in (from_page, over_http):
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (query, body)
            assert not body.get("data") or all(v is None for v in body["data"].values())

    # Revoked in the links panel: the reviewer's next request says so.
    admin.get_by_test_id("link-revoke").click()
    expect(links.first).to_have_attribute("data-status", "revoked")
    page.get_by_test_id("check-again").click()
    expect(page.get_by_test_id("access-error")).to_have_text(
        "This reviewer link has been revoked. Ask whoever sent it for a new one."
    )
    assert page.evaluate("sessionStorage.getItem('plaudit.reviewerLink')") is None
    body = graphql_as(live, f"ReviewLink {token}", "{ currentReviewerLink { id } }")
    assert body["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    assert problems == []
    reviewer.close()


def test_reviewer_link_expires(
    live: LiveApp, context: BrowserContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = make_task(live)
    [run_id] = make_runs(live, chat_run(0))
    issued = make_link(live, task_id, "cid", e=60)
    page = context.new_page()
    page.goto(issued["url"])
    wait_for_run(page, run_id)
    later = clock.now() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    page.get_by_test_id("skip").click()
    expired = "This reviewer link has expired. Ask whoever sent it for a new one."
    expect(page.get_by_test_id("access-error")).to_have_text(expired)
    expect(page.get_by_test_id("review")).to_be_hidden()
    # Opening the link again does not bring it back.
    page.goto(issued["url"])
    expect(page.get_by_test_id("access-error")).to_have_text(expired)


def test_pairwise_review_records_a_preference_and_a_tie(
    live: LiveApp, context: BrowserContext, artifacts: Path
) -> None:
    make_task(live)
    chat = {"messages": [{"role": "user", "content": "Summarise: the cat sat on the mat."}]}
    runs = make_runs(
        live,
        {"tags": ["summary"], "name": "prompt v1", "inputs": chat, "outputs": "A cat sat."},
        {
            "tags": ["summary"],
            "name": "prompt v2",
            "inputs": chat,
            "outputs": {"answer": "**The cat** sat on *the mat*."},
        },
        {"tags": ["summary"], "inputs": {"text": "2+2"}, "outputs": "4"},
        {"tags": ["summary"], "inputs": {"text": "2+2"}, "outputs": "four"},
        {"tags": ["summary"], "inputs": {"text": "alone"}, "outputs": "no pair"},
    )
    page = context.new_page()
    problems = watch(page)
    open_with_key(page, live, "ann")
    page.get_by_test_id("mode-pairwise").click()
    left, right = page.get_by_test_id("side-left"), page.get_by_test_id("side-right")
    expect(left).to_have_attribute("data-run-id", re.compile(f"{runs[0]}|{runs[1]}"))
    first_pair = {left.get_attribute("data-run-id"), right.get_attribute("data-run-id")}
    assert first_pair == {runs[0], runs[1]}
    expect(page.get_by_test_id("pair-inputs")).to_contain_text("Summarise: the cat sat on the mat.")
    expect(page.get_by_test_id("pair-key")).to_have_value("Summary grading")
    page.screenshot(path=str(artifacts / "review-pairwise.png"), full_page=True)
    preferred = right.get_attribute("data-run-id")
    page.get_by_test_id("choose-right").click()
    expect(left).to_have_attribute("data-run-id", re.compile(f"{runs[2]}|{runs[3]}"))
    second_left = left.get_attribute("data-run-id")
    page.keyboard.press("3")  # both good
    expect(page.get_by_test_id("pair-empty")).to_be_visible()
    expect(page.get_by_test_id("progress")).to_have_text("2 compared in this session")
    data = live.graphql("{ preferences { nodes { key preferredRunId otherRunId tied userId } } }")
    recorded = sorted(data["preferences"]["nodes"], key=lambda p: p["tied"] or "")
    other = (first_pair - {preferred}).pop()
    assert recorded == [
        {
            "key": "Summary grading",
            "preferredRunId": preferred,
            "otherRunId": other,
            "tied": None,
            "userId": "ann",
        },
        {
            "key": "Summary grading",
            "preferredRunId": second_left,
            "otherRunId": ({runs[2], runs[3]} - {second_left}).pop(),
            "tied": "GOOD",
            "userId": "ann",
        },
    ]
    assert problems == []
