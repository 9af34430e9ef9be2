"""The widget on a page of another origin, in real Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import feedback_on, issue, make_run
from tests.browser.servers import HostPage, LiveApp

EVENTS_JS = """
window.plauditEvents = [];
for (const name of ["plaudit:submitted", "plaudit:error"]) {
  document.addEventListener(name, (e) => window.plauditEvents.push(
    {type: e.type, detail: e.detail, bubbles: e.bubbles, composed: e.composed}));
}
"""


def embed(live: LiveApp, host: HostPage, token: str, extra: str = "") -> None:
    host.html = f"""<!doctype html><html><head><title>Host app</title>
<script>{EVENTS_JS}</script></head>
<body style="font-family: sans-serif; padding: 16px">
<h1>Your answer</h1><p>The capital of France is Paris.</p>
<script src="{live.url}/widget.js" data-token="{token}"></script>
{extra}
</body></html>"""


def widget(page: Page, nth: int) -> Any:
    return page.locator("plaudit-feedback").nth(nth)


def button(page: Page, name: str, nth: int = 0) -> Any:
    return widget(page, nth).get_by_role("button", name=name, exact=True)


def status(page: Page, nth: int = 0) -> Any:
    return widget(page, nth).locator(".status")


def test_vote_comment_and_flip(live: LiveApp, host: HostPage, page: Page, artifacts: Path) -> None:
    run_id = make_run(live)
    token = issue(live, run_id)["token"]
    embed(live, host, token)
    page.goto(host.origin)
    up, down = button(page, "Yes"), button(page, "No")
    expect(up).to_have_attribute("aria-pressed", "false")
    up.click()
    expect(status(page)).to_have_text("Thanks for your feedback!")
    expect(up).to_have_attribute("aria-pressed", "true")
    comment = page.get_by_label("Tell us more (optional)")
    comment.fill("Could cite a source <b>please</b>")
    button(page, "Send").click()
    expect(status(page)).to_have_text("Thank you! Your comment was sent.")
    expect(comment).to_be_hidden()
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(status(page)).to_have_text("Thank you! Your comment was sent.")
    page.screenshot(path=str(artifacts / "widget.png"))

    [record] = feedback_on(live, run_id)
    assert record["score"] == 0 and record["comment"] == "Could cite a source <b>please</b>"
    assert record["sourceType"] == "WIDGET" and not record["retracted"]
    events = page.evaluate("window.plauditEvents")
    assert [e["type"] for e in events] == ["plaudit:submitted"] * 3
    assert all(e["bubbles"] and e["composed"] for e in events)
    assert [e["detail"]["score"] for e in events] == [1, 1, 0]


def test_keyboard_only(live: LiveApp, host: HostPage, page: Page) -> None:
    run_id = make_run(live)
    embed(live, host, issue(live, run_id)["token"])
    page.goto(host.origin)
    expect(button(page, "Yes")).to_be_visible()
    page.keyboard.press("Tab")
    expect(button(page, "Yes")).to_be_focused()
    page.keyboard.press("Enter")
    expect(status(page)).to_have_text("Thanks for your feedback!")
    page.keyboard.press("Tab")
    expect(button(page, "No")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Tell us more (optional)")).to_be_focused()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Tab")
    expect(button(page, "Send")).to_be_focused()
    page.keyboard.press("Space")
    expect(status(page)).to_have_text("Thank you! Your comment was sent.")
    [record] = feedback_on(live, run_id)
    assert record["score"] == 1 and record["comment"] == "Typed without a mouse"


def test_network_failure_offers_retry_and_keeps_the_comment(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    run_id = make_run(live)
    embed(live, host, issue(live, run_id)["token"])
    page.goto(host.origin)
    button(page, "Yes").click()
    expect(status(page)).to_have_text("Thanks for your feedback!")
    page.route(f"{live.url}/public/feedback", lambda route: route.abort())
    comment = page.get_by_label("Tell us more (optional)")
    comment.fill("Please keep this text")
    button(page, "Send").click()
    retry = button(page, "Retry")
    expect(retry).to_be_visible()
    expect(status(page)).to_contain_text("Could not reach the feedback server.")
    expect(comment).to_have_value("Please keep this text")
    errors = page.evaluate("window.plauditEvents.filter(e => e.type === 'plaudit:error')")
    assert errors[0]["detail"]["error"] == "network" and errors[0]["composed"]
    assert feedback_on(live, run_id)[0]["comment"] is None

    page.unroute(f"{live.url}/public/feedback")
    retry.click()
    expect(status(page)).to_have_text("Thank you! Your comment was sent.")
    expect(retry).to_be_hidden()
    assert feedback_on(live, run_id)[0]["comment"] == "Please keep this text"


def test_server_refusal_is_shown(live: LiveApp, host: HostPage, page: Page) -> None:
    run_id = make_run(live)
    issued = issue(live, run_id)
    embed(live, host, issued["token"])
    page.goto(host.origin)
    expect(button(page, "Yes")).to_be_visible()
    live.graphql(
        "mutation($id: ID!) { revokeFeedbackToken(id: $id) { id } }",
        {"id": issued["feedbackToken"]["id"]},
    )
    button(page, "Yes").click()
    expect(status(page)).to_have_text("this link has been withdrawn")
    expect(button(page, "Retry")).to_be_hidden()
    detail = page.evaluate("window.plauditEvents[0].detail")
    assert detail == {
        "error": "token_revoked",
        "message": "this link has been withdrawn",
        "status": 403,
    }
    # Loaded again, the widget says so at once, with nothing to press.
    page.reload()
    expect(status(page)).to_have_text("this link has been withdrawn")
    expect(widget(page, 0).get_by_role("button")).to_have_count(0)  # not even Retry


def test_loaded_twice_and_as_an_element(live: LiveApp, host: HostPage, page: Page) -> None:
    run_id = make_run(live)
    first, second, third = (issue(live, run_id, key=k)["token"] for k in ("a", "b", "c"))
    embed(
        live,
        host,
        first,
        extra=f"""<script src="{live.url}/widget.js" data-token="{second}"
                  data-prompt="Second widget?"></script>
                  <plaudit-feedback token="{third}" prompt="Third?"></plaudit-feedback>""",
    )
    page.goto(host.origin)
    expect(page.locator("plaudit-feedback")).to_have_count(3)
    expect(page.get_by_text("Second widget?")).to_be_visible()
    button(page, "No", 2).click()
    expect(status(page, 2)).to_have_text("Thanks for your feedback!")
    expect(status(page, 0)).to_have_text("")
    records = feedback_on(live, run_id)
    assert [(r["key"], r["score"]) for r in records] == [("c", 0)]
    # Only the Plaudit server was contacted, from the widget's own origin.
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    button(page, "Yes", 0).click()
    expect(status(page, 0)).to_have_text("Thanks for your feedback!")
    assert requests and all(url.startswith(live.url) for url in requests)


def test_custom_properties(live: LiveApp, host: HostPage, page: Page) -> None:
    run_id = make_run(live)
    embed(
        live,
        host,
        issue(live, run_id)["token"],
        extra="<style>plaudit-feedback { --plaudit-accent: rgb(200, 0, 0); }</style>",
    )
    page.goto(host.origin)
    up = page.locator("plaudit-feedback").get_by_role("button", name="Yes")
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    assert up.evaluate("b => getComputedStyle(b).borderTopColor") == "rgb(200, 0, 0)"


def test_a_sent_comment_can_be_edited(live: LiveApp, host: HostPage, page: Page) -> None:
    run_id = make_run(live)
    embed(live, host, issue(live, run_id)["token"])
    page.goto(host.origin)
    button(page, "No").click()
    comment = page.get_by_label("Tell us more (optional)")
    comment.fill("Too long")
    button(page, "Send").click()
    expect(status(page)).to_have_text("Thank you! Your comment was sent.")
    sent = widget(page, 0).locator(".sent")
    expect(sent).to_contain_text("Too long")
    expect(comment).to_be_hidden()

    button(page, "Edit").click()
    expect(comment).to_be_visible()
    expect(comment).to_have_value("Too long")
    expect(comment).to_be_focused()
    comment.fill("Too long, and it missed the date")
    button(page, "Update").click()
    expect(status(page)).to_have_text("Your comment was updated.")
    expect(sent).to_contain_text("Too long, and it missed the date")
    expect(comment).to_be_hidden()
    [record] = feedback_on(live, run_id)
    assert record["comment"] == "Too long, and it missed the date" and record["score"] == 0
    # The vote can still change, and the comment stays.
    button(page, "Yes").click()
    expect(button(page, "Yes")).to_have_attribute("aria-pressed", "true")
    expect(sent).to_contain_text("Too long, and it missed the date")
    [record] = feedback_on(live, run_id)
    assert record["comment"] == "Too long, and it missed the date" and record["score"] == 1
    events = page.evaluate("window.plauditEvents.map(e => e.detail.comment)")
    assert events == [None, "Too long", "Too long, and it missed the date", None]


def test_pressing_the_chosen_thumb_again_withdraws_the_vote(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    """The widget withdraws explicitly ({retract: true}): a null score means "no
    score given" and would keep the vote."""
    run_id = make_run(live)
    embed(live, host, issue(live, run_id)["token"])
    page.goto(host.origin)
    up = button(page, "Yes")
    up.click()
    expect(status(page)).to_have_text("Thanks for your feedback!")
    up.click()
    expect(status(page)).to_have_text("Your vote was withdrawn.")
    expect(up).to_have_attribute("aria-pressed", "false")
    [record] = feedback_on(live, run_id)
    assert record["retracted"] and record["score"] is None
    assert [e["detail"]["score"] for e in page.evaluate("window.plauditEvents")] == [1, None]
    button(page, "No").click()
    expect(status(page)).to_have_text("Thanks for your feedback!")
    [record] = feedback_on(live, run_id)
    assert record["score"] == 0 and not record["retracted"]
