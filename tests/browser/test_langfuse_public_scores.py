"""Langfuse's browser scores in real Chromium: a page ``fetch``es scores with the
public key alone as ``Authorization: Bearer pk-lf-...``, as Langfuse's web SDK
does (``score-create`` events to ``/api/public/ingestion``, or one score to
``/api/public/scores``). Taken from an allowed origin when the project turns it
on; readable refusals otherwise; a page on another origin is stopped at the
preflight and records nothing."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import Page

from tests.browser.servers import HostPage, LiveApp, host_page

PAIR = """mutation { createApiKey(role: INGEST, name: "web", langfuse: true) {
  apiKey { publicKey } secret } }"""
TURN = "mutation($on: Boolean!) { updateProject(input: {langfusePublicScores: $on}) { id } }"
FEEDBACK = """query($k: String!) { feedback(filter: {keys: [$k]}) {
  nodes { runId score comment sourceType userId } } }"""
FETCH = """async ([url, key, body]) => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + key,
                "X-Langfuse-Sdk-Name": "langfuse-js", "X-Langfuse-Public-Key": key},
      body: JSON.stringify(body),
    });
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {error: String(error)};
  }
}"""


def _public_key(live: LiveApp) -> str:
    key: str = live.graphql(PAIR)["createApiKey"]["apiKey"]["publicKey"]
    return key


def _batch(score: dict[str, Any]) -> dict[str, Any]:
    event = {"id": str(uuid.uuid4()), "type": "score-create", "timestamp": "2026-01-01T00:00:00Z"}
    return {"batch": [{**event, "body": score}], "metadata": {"sdk_name": "langfuse-js"}}


def _send(page: Page, live: LiveApp, path: str, key: str, body: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(FETCH, [f"{live.url}{path}", key, body])
    return result


def test_an_allowed_page_creates_scores_with_the_public_key(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    key = _public_key(live)
    live.graphql(TURN, {"on": True})
    trace = uuid.uuid4().hex
    page.goto(host.origin)
    score = {"id": "web-1", "traceId": trace, "name": "thumbs", "value": 1, "dataType": "BOOLEAN"}
    sent = _send(page, live, "/api/public/ingestion", key, _batch(score))
    assert sent["status"] == 207, sent
    assert sent["body"]["errors"] == [] and sent["body"]["successes"][0]["status"] == 201
    one = {"traceId": trace, "name": "stars", "value": 4, "comment": "nice", "authorUserId": "u1"}
    single = _send(page, live, "/api/public/scores", key, one)
    assert single["status"] == 200 and single["body"]["id"], single
    (thumb,) = live.graphql(FEEDBACK, {"k": "thumbs"})["feedback"]["nodes"]
    assert (thumb["runId"], thumb["score"], thumb["sourceType"]) == (
        str(uuid.UUID(trace)),
        True,
        "APP",
    )
    (stars,) = live.graphql(FEEDBACK, {"k": "stars"})["feedback"]["nodes"]
    assert (stars["score"], stars["comment"], stars["userId"]) == (4, "nice", None)
    # Create-only: the same id again is refused, and the page can read why.
    again = _send(page, live, "/api/public/ingestion", key, _batch({**score, "value": 0}))
    assert again["status"] == 207, again
    (error,) = again["body"]["errors"]
    assert error["status"] == 409 and "never changes" in error["message"]
    (thumb,) = live.graphql(FEEDBACK, {"k": "thumbs"})["feedback"]["nodes"]
    assert thumb["score"] is True


def test_a_page_is_refused_when_the_project_has_not_turned_it_on(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    key = _public_key(live)
    page.goto(host.origin)
    score = {"traceId": uuid.uuid4().hex, "name": "thumbs", "value": 1}
    refused = _send(page, live, "/api/public/scores", key, score)
    assert refused["status"] == 403, refused
    assert "langfusePublicScores" in refused["body"]["message"]
    assert live.graphql(FEEDBACK, {"k": "thumbs"})["feedback"]["nodes"] == []


def test_a_page_on_another_origin_records_nothing(
    live: LiveApp, host: HostPage, page: Page
) -> None:
    key = _public_key(live)
    live.graphql(TURN, {"on": True})
    with host_page() as stranger:
        page.goto(stranger.origin)
        result = _send(
            page, live, "/api/public/scores", key, {"traceId": "ab" * 16, "name": "x", "value": 1}
        )
    # Stopped at the preflight: the POST itself was never sent.
    assert "error" in result and "Failed to fetch" in result["error"], result
    assert live.graphql(FEEDBACK, {"k": "x"})["feedback"]["nodes"] == []
