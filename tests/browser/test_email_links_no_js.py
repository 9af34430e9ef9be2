"""The email-link page works with JavaScript disabled, in real Chromium."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.conftest import feedback_on, issue, make_run
from tests.browser.servers import LiveApp


def test_form_submits_without_javascript(live: LiveApp, browser: Browser, artifacts: Path) -> None:
    run_id = make_run(live)
    issued = issue(live, run_id)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{issued['emailUrl']}?score=1")
    yes = page.get_by_role("radio", name="Yes")
    expect(yes).to_be_checked()
    assert feedback_on(live, run_id) == []  # opening the link recorded nothing
    page.get_by_label("Anything to add?").fill("Spot on, thanks")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("your answer was recorded: Yes")
    page.screenshot(path=str(artifacts / "email-confirmation.png"))
    [record] = feedback_on(live, run_id)
    assert record["score"] == 1 and record["comment"] == "Spot on, thanks"
    assert record["sourceType"] == "EMAIL"

    # The confirmation lets the person change the answer.
    expect(page.get_by_label("Anything to add?")).to_have_value("Spot on, thanks")
    page.get_by_role("radio", name="No").check()
    page.get_by_role("button", name="Update my answer").click()
    expect(page.get_by_role("status")).to_contain_text("recorded: No")
    [record] = feedback_on(live, run_id)
    assert record["score"] == 0 and record["comment"] == "Spot on, thanks"
    context.close()
