"""GraphiQL at /graphql in real Chromium: it renders from the server's own files under
its CSP (no console error), runs a query with the key from the Headers editor, and
streams a subscription over graphql-transport-ws authenticated the same way."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.conftest import make_run
from tests.browser.graphiql import (
    RESULT,
    open_graphiql,
    record_traffic,
    run_query,
    set_headers,
    set_query,
)
from tests.browser.servers import LiveApp

SUBSCRIPTION = "subscription Live { feedbackEvents { kind feedback { key score } } }"
CREATE = """mutation($run: ID!, $key: String!) {
  createFeedback(input: {runId: $run, key: $key, score: 1}) { id } }"""


def test_graphiql_query_and_subscription(live: LiveApp, browser: Browser, artifacts: Path) -> None:
    run_id = make_run(live)
    context = browser.new_context()
    page = context.new_page()
    traffic = record_traffic(page, live.url)
    open_graphiql(page, live.url)
    headers = {"Authorization": f"Bearer {live.admin_key}"}
    set_headers(page, headers)
    # The default query asks for the key's project.
    run_query(page)
    expect(page.locator(RESULT)).to_contain_text('"name": "acme"')
    page.screenshot(path=str(artifacts / "graphiql.png"))

    set_query(page, SUBSCRIPTION, "Live")
    run_query(page)
    # The change stream may open just after the subscribe message: feedback written
    # before then is not an event, so write until one arrives (each waits for it).
    for attempt in range(10):
        live.graphql(CREATE, {"run": run_id, "key": f"live-{attempt}"})
        try:
            expect(page.locator(RESULT)).to_contain_text('"kind": "CREATED"', timeout=3000)
            break
        except AssertionError:
            continue
    expect(page.locator(RESULT)).to_contain_text('"key": "live-')
    init = json.loads(traffic.frames_sent[0])
    assert init == {"type": "connection_init", "payload": headers}
    assert traffic.sockets == [live.url.replace("http", "ws", 1) + "/graphql"]
    context.close()
    assert traffic.local_only() == []
    assert traffic.errors == []
    assert all(url.startswith(live.url + "/graphql") for url in traffic.requests)
