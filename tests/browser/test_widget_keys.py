"""The widget follows the token's key, in real Chromium: thumbs, a scale (stars or
numbers), categories, a number, a comment only; the question comes from the token or
the key; a refused origin is told so. Screenshots of the variants on a light and a
dark host page go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import feedback_on, issue, make_run
from tests.browser.servers import HostPage, LiveApp
from tests.browser.test_widget import EVENTS_JS, button, embed, status, widget

REGISTER = "mutation($input: FeedbackKeyInput!) { registerFeedbackKey(input: $input) { key } }"
ACCURACY = {
    "key": "accuracy",
    "kind": "CATEGORICAL",
    "categories": [
        {"value": 0, "label": "Wrong"},
        {"value": 1, "label": "Mostly right"},
        {"value": 2, "label": "Right"},
    ],
    "description": "Were the facts right?",
}
STARS = {"key": "stars", "kind": "CONTINUOUS", "min": 1, "max": 5}


def register(live: LiveApp, config: dict[str, Any]) -> None:
    live.graphql(REGISTER, {"input": config})


def only(live: LiveApp, run_id: str) -> dict[str, Any]:
    [record] = feedback_on(live, run_id)
    return record


def test_a_scale_key_gets_stars_and_stores_the_chosen_value(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    register(live, STARS)
    run_id = make_run(live)
    embed(live, host, issue(live, run_id, key="stars", prompt="How good was this answer?")["token"])
    page.goto(host.origin)
    expect(widget(page, 0).locator(".prompt")).to_have_text("How good was this answer?")
    stars = widget(page, 0).locator(".star")
    expect(stars).to_have_count(5)
    button(page, "4 of 5").click()
    expect(status(page)).to_have_text("Thanks for your feedback!")
    expect(button(page, "4 of 5")).to_have_attribute("aria-pressed", "true")
    lit = [stars.nth(i).evaluate("b => b.classList.contains('on')") for i in range(5)]
    assert lit == [True, True, True, True, False]
    assert only(live, run_id)["score"] == 4  # not 1 for "up"
    button(page, "2 of 5").click()
    expect(button(page, "2 of 5")).to_have_attribute("aria-pressed", "true")
    expect(button(page, "4 of 5")).to_have_attribute("aria-pressed", "false")
    assert only(live, run_id)["score"] == 2


def test_a_scale_as_numbered_buttons(live: LiveApp, host: HostPage, page: Page) -> None:
    register(live, {"key": "nps", "kind": "CONTINUOUS", "min": 0, "max": 10})
    run_id = make_run(live)
    token = issue(live, run_id, key="nps")["token"]
    embed(live, host, token)
    page.goto(host.origin)
    answers = widget(page, 0).locator(".answers button")
    expect(answers).to_have_count(11)  # 0..10: numbers (stars start at 1)
    assert answers.all_text_contents() == [str(n) for n in range(11)]
    expect(widget(page, 0).locator(".prompt")).to_have_text("How would you rate this?")
    button(page, "9").click()
    expect(status(page)).to_have_text("Thanks for your feedback!")
    assert only(live, run_id)["score"] == 9
    # scale="numbers" asks for numbers where stars would be the default.
    register(live, STARS)
    stars_run = make_run(live)
    stars_token = issue(live, stars_run, key="stars")["token"]
    embed(live, host, stars_token, extra="")
    host.html = host.html.replace('data-token="', 'data-scale="numbers" data-token="')
    page.goto(host.origin)
    expect(widget(page, 0).locator(".answers button")).to_have_count(5)
    assert widget(page, 0).locator(".answers button").all_text_contents() == list("12345")


def test_a_categorical_key_gets_its_labels(live: LiveApp, host: HostPage, page: Page) -> None:
    register(live, ACCURACY)
    run_id = make_run(live)
    embed(live, host, issue(live, run_id, key="accuracy")["token"])
    page.goto(host.origin)
    expect(widget(page, 0).locator(".prompt")).to_have_text("Were the facts right?")
    answers = widget(page, 0).locator(".answers button")
    expect(answers).to_have_count(3)
    assert answers.all_text_contents() == ["Wrong", "Mostly right", "Right"]
    button(page, "Mostly right").click()
    expect(status(page)).to_have_text("Thanks for your feedback!")
    assert only(live, run_id)["score"] == 1
    # Chosen again, the answer is withdrawn, as a thumb is.
    button(page, "Mostly right").click()
    expect(status(page)).to_have_text("Your vote was withdrawn.")
    assert only(live, run_id)["retracted"]


def test_a_boolean_key_a_number_and_a_comment_only(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    register(live, {"key": "solved", "kind": "BOOLEAN", "description": "Did this solve it?"})
    register(live, {"key": "confidence", "kind": "CONTINUOUS", "min": 0, "max": 1})
    register(live, {"key": "notes", "kind": "FREEFORM", "description": "What should change?"})
    run_id = make_run(live)
    tokens = [issue(live, run_id, key=k)["token"] for k in ("solved", "confidence", "notes")]
    embed(
        live,
        host,
        tokens[0],
        extra=f"""<plaudit-feedback token="{tokens[1]}"></plaudit-feedback>
                  <plaudit-feedback token="{tokens[2]}"></plaudit-feedback>""",
    )
    page.goto(host.origin)
    expect(widget(page, 0).locator(".prompt")).to_have_text("Did this solve it?")
    button(page, "Yes").click()
    expect(status(page)).to_have_text("Thanks for your feedback!")

    number = widget(page, 1).get_by_label("Your score")
    expect(number).to_have_attribute("max", "1")
    number.fill("0.75")
    widget(page, 1).get_by_role("button", name="Send score").click()
    expect(status(page, 1)).to_have_text("Thanks for your feedback!")

    expect(widget(page, 2).locator(".prompt")).to_have_text("What should change?")
    expect(widget(page, 2).locator(".answers button")).to_have_count(0)
    widget(page, 2).get_by_label("Tell us more (optional)").fill("Shorter, please")
    widget(page, 2).get_by_role("button", name="Send").click()
    expect(status(page, 2)).to_have_text("Thank you! Your comment was sent.")

    by_key = {r["key"]: r for r in feedback_on(live, run_id)}
    assert by_key["solved"]["score"] is True
    assert by_key["confidence"]["score"] == 0.75
    assert by_key["notes"]["comment"] == "Shorter, please" and by_key["notes"]["score"] is None


def test_a_refused_origin_is_told_so(live: LiveApp, host: HostPage, page: Page) -> None:
    """The page's origin is on no list at all: the widget says so instead of
    "could not reach the server", and offers nothing to press."""
    live.graphql("mutation { updateProject(input: {allowedOrigins: []}) { id } }")
    embed(live, host, issue(live, make_run(live))["token"])
    page.goto(host.origin)
    expect(status(page)).to_contain_text(f"cannot be sent from this site ({host.origin})")
    expect(status(page)).not_to_contain_text("Could not reach")
    expect(widget(page, 0).get_by_role("button")).to_have_count(0)
    [event] = page.evaluate("window.plauditEvents")
    assert event["type"] == "plaudit:error"
    assert event["detail"]["error"] == "origin_not_allowed" and event["detail"]["status"] == 403


def test_a_token_for_another_origin_is_refused_when_voting(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    """Listed on another token, the origin passes the preflight; the vote through
    this token is refused, and the widget can read why."""
    run_id = make_run(live)
    live.graphql("mutation { updateProject(input: {allowedOrigins: []}) { id } }")
    issue(live, run_id, key="elsewhere", allowedOrigins=[host.origin])
    token = issue(live, run_id)["token"]
    host.html = f"""<!doctype html><html><head><script>{EVENTS_JS}</script></head><body>
<plaudit-feedback token="{token}" server="{live.url}"></plaudit-feedback>
<script src="{live.url}/widget.js"></script></body></html>"""
    page.goto(host.origin)
    expect(status(page)).to_contain_text("cannot be sent from this site")
    assert feedback_on(live, run_id) == []


VARIANTS_LIGHT = "<style>body { background: #f6f8fa; }</style>"
VARIANTS_DARK = """<style>:root { color-scheme: dark; }
body { background: #010409; color: #e6edf3; }</style>"""


def test_screenshots_of_the_variants_on_light_and_dark_hosts(
    live: LiveApp, host: HostPage, page: Page, artifacts: Path
) -> None:
    register(live, STARS)
    register(live, ACCURACY)
    run_id = make_run(live)
    tokens = {
        "helpful": issue(live, run_id, prompt="Did this answer help?")["token"],
        "stars": issue(live, run_id, key="stars", prompt="Rate this answer")["token"],
        "accuracy": issue(live, run_id, key="accuracy")["token"],
    }
    page.set_viewport_size({"width": 500, "height": 800})
    for scheme, style in (("light", VARIANTS_LIGHT), ("dark", VARIANTS_DARK)):
        host.html = f"""<!doctype html><html><head><title>Widget variants</title>{style}</head>
<body style="font-family: sans-serif; padding: 16px; width: 460px">
<p>Boolean (or unregistered) key</p>
<plaudit-feedback token="{tokens["helpful"]}" server="{live.url}"></plaudit-feedback>
<p>Continuous key, 1 to 5</p>
<plaudit-feedback token="{tokens["stars"]}" server="{live.url}"></plaudit-feedback>
<p>Categorical key</p>
<plaudit-feedback token="{tokens["accuracy"]}" server="{live.url}"></plaudit-feedback>
<script src="{live.url}/widget.js"></script></body></html>"""
        page.goto(host.origin)
        button(page, "Yes", 0).click()
        button(page, "4 of 5", 1).click()
        button(page, "Mostly right", 2).click()
        for nth in range(3):
            expect(status(page, nth)).to_have_text("Thanks for your feedback!")
            box = widget(page, nth).locator(".box")
            expect(box).to_have_attribute("data-scheme", scheme)
        expected = "rgb(13, 17, 23)" if scheme == "dark" else "rgb(255, 255, 255)"
        for nth in range(3):
            background = (
                widget(page, nth)
                .locator(".box")
                .evaluate("b => getComputedStyle(b).backgroundColor")
            )
            assert background == expected
        page.screenshot(path=str(artifacts / f"widget-{scheme}.png"), full_page=True)
    by_key = {r["key"]: r["score"] for r in feedback_on(live, run_id)}
    assert by_key == {"helpful": 1, "stars": 4, "accuracy": 1}
