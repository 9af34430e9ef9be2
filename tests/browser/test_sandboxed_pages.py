"""Pages without an origin of their own (a sandboxed iframe: ``Origin: null``)
cannot post through a token, in real Chromium; a page on an allowed origin can."""

from __future__ import annotations

import json
from html import escape

from playwright.sync_api import Page

from tests.browser.conftest import feedback_on, issue, make_run
from tests.browser.servers import HostPage, LiveApp

# Collects what the sandboxed frames report with postMessage.
LISTEN = """<script>
window.messages = [];
addEventListener("message", (e) => window.messages.push(e.data));
</script>"""


def sandboxed(script: str, sandbox: str = "allow-scripts", body: str = "") -> str:
    inner = f"<!doctype html><body>{body}<script>{script}</script></body>"
    return f'<iframe sandbox="{sandbox}" srcdoc="{escape(inner, quote=True)}"></iframe>'


def report(label: str) -> str:
    """JavaScript: report a fetch's outcome to the host page."""
    name = json.dumps(label)
    return (
        f".then((r) => parent.postMessage({name} + ': ' + r.type + ' ' + r.status, '*'))"
        f".catch((e) => parent.postMessage({name} + ': failed', '*'));"
    )


def test_a_sandboxed_iframe_cannot_post_feedback(live: LiveApp, host: HostPage, page: Page) -> None:
    run_id = make_run(live)
    token = issue(live, run_id)["token"]
    url = json.dumps(f"{live.url}/public/feedback")
    body = json.dumps(json.dumps({"token": token, "score": 1}))
    # text/plain needs no preflight: without a content-type rule this reaches the
    # route with Origin: null. no-cors: the page cannot read the answer, but the
    # promise settles once the server has answered.
    plain = (
        f"fetch({url}, {{method: 'POST', mode: 'no-cors', "
        f"headers: {{'Content-Type': 'text/plain'}}, body: {body}}})" + report("plain")
    )
    # JSON needs a preflight, which a null origin does not pass.
    as_json = (
        f"fetch({url}, {{method: 'POST', "
        f"headers: {{'Content-Type': 'application/json'}}, body: {body}}})" + report("json")
    )
    host.html = f"<!doctype html><title>host</title>{LISTEN}{sandboxed(plain)}{sandboxed(as_json)}"
    page.goto(host.origin)
    page.wait_for_function("window.messages.length === 2")
    messages = sorted(page.evaluate("window.messages"))
    assert messages == ["json: failed", "plain: opaque 0"], messages
    assert feedback_on(live, run_id) == []

    # The host page itself, on an allowed origin, posts through the same token.
    answer = page.evaluate(
        f"""fetch({url}, {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
                  body: {body}}}).then((r) => r.json())"""
    )
    assert answer["ok"] is True
    assert [f["score"] for f in feedback_on(live, run_id)] == [1]


def test_a_sandboxed_iframe_cannot_post_the_email_form(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    """A form post is a simple request too; from a sandboxed frame it carries
    ``Origin: null`` and is refused (the email page's own form carries the server's
    origin: tests/browser/test_email_links_no_js.py)."""
    run_id = make_run(live)
    issued = issue(live, run_id)
    form = (
        f'<form method="post" action="{escape(issued["emailUrl"], quote=True)}">'
        '<input name="score" value="1"><button>Send</button></form>'
    )
    host.html = "<!doctype html><title>host</title>" + sandboxed("", "allow-forms", form)
    page.goto(host.origin)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.frame_locator("iframe").get_by_role("button", name="Send").click()
    response = posted.value
    assert response.request.header_value("origin") == "null"
    assert response.status == 403  # (the page is not shown: frame-ancestors 'none')
    assert feedback_on(live, run_id) == []
