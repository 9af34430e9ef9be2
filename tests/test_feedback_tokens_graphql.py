"""The GraphQL side of feedback tokens: issue, list, revoke, email links, grants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import GraphQLClient, Keys
from tests.public.helpers import ISSUE, issue, make_run

REVOKE = "mutation($id: ID!) { revokeFeedbackToken(id: $id) { id revokedAt } }"
LIST = "query($r: ID!) { feedbackTokens(runId: $r) { nodes { id key revokedAt } } }"
EMAIL = """
mutation($input: FeedbackTokenInput!) {
  createEmailFeedbackLinks(input: $input) {
    token question upUrl downUrl pageUrl html text feedbackToken { id maxUses prompt }
    choices { label score url }
  }
}
"""


async def test_issue_gives_token_urls_and_record(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    before = datetime.now(UTC)
    issued = await issue(gql, run_id, maxUses=3, allowedOrigins=["HTTPS://App.Example.com"])
    record = issued["feedbackToken"]
    assert record["runId"] == run_id and record["key"] == "helpful"
    assert record["uses"] == 0 and record["maxUses"] == 3
    assert record["allowedOrigins"] == ["https://app.example.com"]
    expires = datetime.fromisoformat(record["expiresAt"])
    assert timedelta(hours=2, minutes=59) < expires - before < timedelta(hours=3, minutes=1)
    assert issued["widgetUrl"] == "http://testserver/widget.js"
    assert issued["emailUrl"] == f"http://testserver/f/{issued['token']}"
    assert f'data-token="{issued["token"]}"' in issued["widgetSnippet"]
    uuid.UUID(record["id"])


async def test_batch_and_expiry_options(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    data = await gql.ok(
        ISSUE,
        {
            "inputs": [
                {"runId": run_id, "key": "a", "expiresIn": 600},
                {"runId": run_id, "key": "b", "expiresAt": at.isoformat()},
            ]
        },
    )
    a, b = (d["feedbackToken"] for d in data["createFeedbackTokens"])
    assert datetime.fromisoformat(a["expiresAt"]) - datetime.now(UTC) < timedelta(seconds=601)
    assert datetime.fromisoformat(b["expiresAt"]) == at
    listed = await gql.ok(LIST, {"r": run_id})
    assert {n["key"] for n in listed["feedbackTokens"]["nodes"]} == {"a", "b"}


async def test_bad_token_requests(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"expiresIn": 31 * 24 * 3600}, "at most"),
        ({"expiresIn": 0}, "future"),
        ({"expiresIn": 60, "expiresAt": datetime.now(UTC).isoformat()}, "not both"),
        ({"maxUses": 0}, "maxUses"),
        ({"allowedOrigins": ["https://x.example/path"]}, "not an origin"),
        ({"runId": "nope"}, "UUID"),
    ]
    for extra, words in cases:
        error = await gql.error(ISSUE, {"inputs": [{"runId": run_id, "key": "k", **extra}]})
        assert words in error["message"], (extra, error)
        assert error["extensions"]["code"] in ("BAD_REQUEST", "NOT_FOUND")
    twice = [{"runId": run_id, "key": "k"}, {"runId": run_id, "key": "k"}]
    error = await gql.error(ISSUE, {"inputs": twice})
    assert "one token per run and key" in error["message"]
    assert (await gql.ok(LIST, {"r": run_id}))["feedbackTokens"]["nodes"] == []


async def test_grants(http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys) -> None:
    run_id = await make_run(gql)
    read = gql.as_key(keys.read)
    error = await read.error(ISSUE, {"inputs": [{"runId": run_id, "key": "k"}]})
    assert error["extensions"]["code"] == "FORBIDDEN"
    ingest = gql.as_key(keys.ingest)
    issued = await issue(ingest, run_id)
    token_id = issued["feedbackToken"]["id"]
    error = await read.error(REVOKE, {"id": token_id})
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await read.ok(LIST, {"r": run_id}))["feedbackTokens"]["nodes"][0]["id"] == token_id
    error = await gql.as_key(None).error(LIST, {"r": run_id})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    revoked = await ingest.ok(REVOKE, {"id": token_id})
    first_at = revoked["revokeFeedbackToken"]["revokedAt"]
    again = await gql.ok(REVOKE, {"id": token_id})  # admin; revoking twice keeps the time
    assert again["revokeFeedbackToken"]["revokedAt"] == first_at


async def test_other_projects_cannot_see_or_touch_tokens(
    gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    run_id = await make_run(gql)
    issued = await issue(gql, run_id)
    other = gql.as_key(other_keys.admin)
    error = await other.error(REVOKE, {"id": issued["feedbackToken"]["id"]})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert (await other.ok(LIST, {"r": run_id}))["feedbackTokens"]["nodes"] == []
    error = await other.error(ISSUE, {"inputs": [{"runId": run_id, "key": "k"}]})
    assert error["extensions"]["code"] == "NOT_FOUND"
    listed = await gql.ok(LIST, {"r": run_id})
    assert listed["feedbackTokens"]["nodes"][0]["revokedAt"] is None


async def test_email_links_helper(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    data = await gql.ok(EMAIL, {"input": {"runId": run_id, "key": "helpful", "maxUses": 1}})
    links = data["createEmailFeedbackLinks"]
    token = links["token"]
    assert links["upUrl"] == f"http://testserver/f/{token}?score=1"
    assert links["downUrl"] == f"http://testserver/f/{token}?score=0"
    assert links["pageUrl"] == f"http://testserver/f/{token}"
    assert f'href="http://testserver/f/{token}?score=1"' in links["html"]
    assert links["downUrl"] in links["text"]
    assert links["feedbackToken"]["maxUses"] == 1
    # An unregistered key gets thumbs: one link per answer, Yes and No.
    assert links["question"] == "Was this helpful?"
    assert links["choices"] == [
        {"label": "Yes", "score": 1, "url": links["upUrl"]},
        {"label": "No", "score": 0, "url": links["downUrl"]},
    ]
    assert links["text"].splitlines()[0] == "Was this helpful?"


REGISTER = "mutation($input: FeedbackKeyInput!) { registerFeedbackKey(input: $input) { key } }"


async def email_links_for(gql: GraphQLClient, key: dict[str, Any], **extra: Any) -> Any:
    await gql.ok(REGISTER, {"input": {"key": "k", **key}})
    run_id = await make_run(gql)
    data = await gql.ok(EMAIL, {"input": {"runId": run_id, "key": "k", **extra}})
    return data["createEmailFeedbackLinks"]


async def test_email_links_follow_the_key(gql: GraphQLClient) -> None:
    # A 1-5 key: five links, the best (5) is up and the worst (1) down; never 1 = up.
    links = await email_links_for(
        gql, {"kind": "CONTINUOUS", "min": 1, "max": 5}, prompt="How good was the answer?"
    )
    token = links["token"]
    assert [(c["label"], c["score"]) for c in links["choices"]] == [
        (str(n), n) for n in range(1, 6)
    ]
    assert [c["url"] for c in links["choices"]] == [
        f"http://testserver/f/{token}?score={n}" for n in range(1, 6)
    ]
    assert links["upUrl"].endswith("?score=5") and links["downUrl"].endswith("?score=1")
    assert links["question"] == links["feedbackToken"]["prompt"] == "How good was the answer?"
    assert links["html"].startswith("<p>How good was the answer? ")
    assert links["html"].count("<a href=") == 5
    assert links["text"].splitlines() == [
        "How good was the answer?",
        *(f"{n}: http://testserver/f/{token}?score={n}" for n in range(1, 6)),
    ]


async def test_email_links_for_categories_direction_and_free_text(gql: GraphQLClient) -> None:
    links = await email_links_for(
        gql,
        {
            "kind": "CATEGORICAL",
            "categories": [{"value": 0, "label": "Fine"}, {"value": 1, "label": "Too <long>"}],
            "higherIsBetter": False,
            "description": "How long was it?",
        },
    )
    assert [c["label"] for c in links["choices"]] == ["Fine", "Too <long>"]
    assert links["question"] == "How long was it?"
    # Lower is better here: the best answer is 0.
    assert links["upUrl"].endswith("?score=0") and links["downUrl"].endswith("?score=1")
    assert "Too &lt;long&gt;</a>" in links["html"]

    free = await email_links_for(gql, {"kind": "FREEFORM"})
    assert free["choices"] == [] and free["upUrl"] is None and free["downUrl"] is None
    assert free["pageUrl"] in free["html"] and free["pageUrl"] in free["text"]


async def test_feedback_id_names_the_tokens_record(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id, feedback_id = await make_run(gql), str(uuid.uuid4())
    issued = await issue(gql, run_id, feedbackId=feedback_id)
    for body in ({"score": 1}, {"comment": "later"}):
        voted = await http.post("/public/feedback", json={"token": issued["token"], **body})
        assert voted.status_code == 200, voted.text
        assert voted.json()["feedback"]["id"] == feedback_id
    data = await gql.ok(
        "query($id: ID!) { feedbackById(id: $id) { score comment } }", {"id": feedback_id}
    )
    assert data["feedbackById"] == {"score": 1, "comment": "later"}
    error = await gql.error(
        ISSUE, {"inputs": [{"runId": run_id, "key": "other", "feedbackId": feedback_id}]}
    )
    assert error["extensions"]["code"] == "CONFLICT"
