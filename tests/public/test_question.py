"""GET /public/question: what the widget asks, following the token's key; the
token rules apply, nothing is written, a refused origin may read why."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient
from tests.public.helpers import feedback_on, issue, make_run
from tests.public.test_email_links import snapshot
from tests.public.test_public_feedback import ALLOWED, EVIL, assert_error

REGISTER = """mutation($input: FeedbackKeyInput!) { registerFeedbackKey(input: $input) { key } }"""


async def ask(
    http: httpx.AsyncClient, token: str | None, origin: str | None = None
) -> httpx.Response:
    headers = {"origin": origin} if origin else {}
    params = {"token": token} if token is not None else {}
    return await http.get("/public/question", params=params, headers=headers)


async def question_for(gql: GraphQLClient, http: httpx.AsyncClient, **token: Any) -> Any:
    run_id = await make_run(gql)
    response = await ask(http, (await issue(gql, run_id, **token))["token"])
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("registration", "expected"),
    [
        (
            None,
            {
                "prompt": "Was this helpful?",
                "kind": "thumbs",
                "choices": [{"score": 1, "label": "Yes"}, {"score": 0, "label": "No"}],
                "min": 0,
                "max": 1,
            },
        ),
        (
            {"kind": "BOOLEAN", "description": "Did it answer the question?"},
            {
                "prompt": "Did it answer the question?",
                "kind": "thumbs",
                "choices": [{"score": 1, "label": "Yes"}, {"score": 0, "label": "No"}],
                "min": 0,
                "max": 1,
            },
        ),
        (
            {"kind": "CONTINUOUS", "min": 1, "max": 5},
            {
                "prompt": "How would you rate this?",
                "kind": "scale",
                "choices": [{"score": n, "label": str(n)} for n in range(1, 6)],
                "min": 1,
                "max": 5,
            },
        ),
        (
            {
                "kind": "CATEGORICAL",
                "categories": [{"value": 0, "label": "Wrong"}, {"value": 2, "label": "Right"}],
                "description": "Was the fact right?",
            },
            {
                "prompt": "Was the fact right?",
                "kind": "categorical",
                "choices": [{"score": 0, "label": "Wrong"}, {"score": 2, "label": "Right"}],
                "min": 0,
                "max": 2,
            },
        ),
        (
            {"kind": "CONTINUOUS", "min": 0, "max": 0.5},
            {
                "prompt": "How would you score this?",
                "kind": "number",
                "choices": [],
                "min": 0,
                "max": 0.5,
            },
        ),
        (
            {"kind": "FREEFORM"},
            {
                "prompt": "Anything to tell us?",
                "kind": "comment",
                "choices": [],
                "min": None,
                "max": None,
            },
        ),
    ],
    ids=["unregistered", "boolean", "scale", "categorical", "number", "freeform"],
)
async def test_the_question_follows_the_key(
    http: httpx.AsyncClient,
    gql: GraphQLClient,
    registration: dict[str, Any] | None,
    expected: dict[str, Any],
) -> None:
    if registration is not None:
        await gql.ok(REGISTER, {"input": {"key": "helpful", **registration}})
    assert await question_for(gql, http) == expected


async def test_the_tokens_prompt_comes_first(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    await gql.ok(
        REGISTER, {"input": {"key": "helpful", "kind": "BOOLEAN", "description": "The key's"}}
    )
    asked = await question_for(gql, http, prompt="Did this answer help?")
    assert asked["prompt"] == "Did this answer help?"
    error = await gql.error(
        """mutation($inputs: [FeedbackTokenInput!]!) { createFeedbackTokens(inputs: $inputs) {
             token } }""",
        {"inputs": [{"runId": await make_run(gql), "key": "helpful", "prompt": "x" * 501}]},
    )
    assert error["extensions"]["code"] == "BAD_REQUEST" and "prompt" in error["message"]


async def test_it_writes_nothing_and_takes_no_use(
    http: httpx.AsyncClient, gql: GraphQLClient, sync_db: Any
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id, maxUses=1))["token"]
    before = snapshot(sync_db)
    for _ in range(3):
        assert (await ask(http, token)).status_code == 200
    after = snapshot(sync_db)
    after.pop("rate_limits", None)  # the per-address limit is counted, as on every route
    before.pop("rate_limits", None)
    assert after == before
    assert await feedback_on(gql, run_id) == []


async def test_origins(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    await gql.ok(
        "mutation($o: [String!]) { updateProject(input: {allowedOrigins: $o}) { id } }",
        {"o": [ALLOWED]},
    )
    token = (await issue(gql, await make_run(gql)))["token"]
    ok = await ask(http, token, ALLOWED)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
    assert "origin" in ok.headers["vary"].lower()
    # A page elsewhere is told why, and gets nothing else.
    refused = await ask(http, token, EVIL)
    body = assert_error(refused, 403, "origin_not_allowed")
    assert set(body) == {"error", "message"} and EVIL in body["message"]
    assert refused.headers["access-control-allow-origin"] == EVIL
    # A null origin names no site: refused, and not told.
    hidden = await ask(http, token, "null")
    assert_error(hidden, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in hidden.headers


async def test_token_refusals(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    assert_error(await ask(http, None), 401, "invalid_token")
    assert_error(await ask(http, "not-a-token"), 401, "invalid_token")
    issued = await issue(gql, await make_run(gql))
    await gql.ok(
        "mutation($id: ID!) { revokeFeedbackToken(id: $id) { id } }",
        {"id": issued["feedbackToken"]["id"]},
    )
    revoked = await ask(http, issued["token"], EVIL)
    assert_error(revoked, 403, "token_revoked")
    assert "access-control-allow-origin" not in revoked.headers  # EVIL is configured nowhere
