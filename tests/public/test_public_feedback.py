"""POST /public/feedback through HTTP: votes, every error, CORS."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from app.domain.tokens import feedback_token_serializer
from tests.conftest import GraphQLClient, services
from tests.public.helpers import feedback_on, issue, make_run

ALLOWED = "https://app.example.com"
EVIL = "https://evil.example"


async def post(http: httpx.AsyncClient, body: Any, **headers: str) -> httpx.Response:
    return await http.post("/public/feedback", json=body, headers=headers)


def assert_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    return body


async def test_votes_upsert_and_a_comment_follows(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    up = await post(http, {"token": token, "score": 1})
    assert up.status_code == 200, up.text
    down = await post(http, {"token": token, "score": 0})
    assert down.json()["feedback"]["id"] == up.json()["feedback"]["id"]
    commented = await post(http, {"token": token, "comment": "too long-winded"})
    assert commented.status_code == 200
    [record] = await feedback_on(gql, run_id)
    assert record["score"] == 0 and record["comment"] == "too long-winded"
    assert record["sourceType"] == "WIDGET" and not record["retracted"]
    assert re.fullmatch(r"[0-9a-f]{32}", record["sourceInfo"]["client"])
    assert [h["change"] for h in record["history"]] == ["created", "updated", "updated"]
    assert {h["via"] for h in record["history"]} == {"widget"}
    assert all(h["by"].startswith("token:") for h in record["history"])


async def test_a_null_score_is_no_score_and_retract_withdraws(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    assert (await post(http, {"token": token, "score": 1})).status_code == 200
    kept = await post(http, {"token": token, "score": None, "comment": "and why"})
    assert kept.status_code == 200, kept.text
    assert kept.json()["feedback"]["score"] == 1 and not kept.json()["feedback"]["retracted"]
    retracted = await post(http, {"token": token, "retract": True})
    assert retracted.status_code == 200 and retracted.json()["feedback"]["retracted"] is True
    [record] = await feedback_on(gql, run_id)
    assert record["retracted"] and record["score"] is None
    assert_error(await post(http, {"token": token, "retract": "yes"}), 400, "bad_request")
    assert_error(
        await post(http, {"token": token, "retract": True, "score": 1}), 400, "bad_request"
    )


async def test_end_user_id_is_the_voter(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    first = (await issue(gql, run_id, endUserId="user-7"))["token"]
    second = (await issue(gql, run_id, key="helpful-again", endUserId="user-7"))["token"]
    assert (await post(http, {"token": first, "score": 1})).status_code == 200
    assert (await post(http, {"token": second, "score": 0})).status_code == 200
    records = await feedback_on(gql, run_id)
    assert {r["userId"] for r in records} == {"user-7"} and len(records) == 2


async def test_invalid_token(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    assert_error(await post(http, {"token": token[:-2] + "xx", "score": 1}), 401, "invalid_token")
    assert_error(await post(http, {"score": 1}), 401, "invalid_token")
    assert_error(await post(http, {"token": 5, "score": 1}), 401, "invalid_token")
    assert await feedback_on(gql, run_id) == []


async def test_expired_token(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient, sync_db: Any
) -> None:
    run_id = await make_run(gql)
    issued = await issue(gql, run_id)
    sync_db.feedback_tokens.update_one(
        {"_id": issued["feedbackToken"]["id"]},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    assert_error(await post(http, {"token": issued["token"], "score": 1}), 410, "token_expired")
    # A signature older than the longest token lifetime is expired too.
    settings = services(app).settings
    old = feedback_token_serializer(
        settings.secret_keys, lambda: time.time() - settings.token_max_ttl - 5
    ).dumps({"jti": issued["feedbackToken"]["id"], "run": run_id, "key": "helpful"})
    assert_error(await post(http, {"token": old, "score": 1}), 410, "token_expired")


async def test_revoked_token(http: httpx.AsyncClient, gql: GraphQLClient, keys: Any) -> None:
    run_id = await make_run(gql)
    issued = await issue(gql, run_id)
    ingest = gql.as_key(keys.ingest)
    data = await ingest.ok(
        "mutation($id: ID!) { revokeFeedbackToken(id: $id) { id revokedAt } }",
        {"id": issued["feedbackToken"]["id"]},
    )
    assert data["revokeFeedbackToken"]["revokedAt"] is not None
    assert_error(await post(http, {"token": issued["token"], "score": 1}), 403, "token_revoked")


async def test_used_up_token(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id, maxUses=2))["token"]
    assert (await post(http, {"token": token, "score": 1})).status_code == 200
    assert (await post(http, {"token": token, "comment": "ok"})).status_code == 200
    assert_error(await post(http, {"token": token, "score": 0}), 409, "token_used_up")
    [record] = await feedback_on(gql, run_id)
    assert record["score"] == 1


async def test_refused_feedback_gives_the_use_back(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id = await make_run(gql)
    await gql.ok('mutation { registerFeedbackKey(input: {key: "helpful", kind: BOOLEAN}) { key } }')
    token = (await issue(gql, run_id, maxUses=1))["token"]
    assert_error(await post(http, {"token": token, "score": 7}), 422, "bad_request")
    assert (await post(http, {"token": token, "score": 1})).status_code == 200


async def test_value_outside_the_key_config(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    await gql.ok(
        """mutation { registerFeedbackKey(input: {key: "tone", kind: CATEGORICAL,
           categories: [{value: 1, label: "warm"}, {value: 2, label: "cold"}]}) { key } }"""
    )
    token = (await issue(gql, run_id, key="tone"))["token"]
    body = assert_error(await post(http, {"token": token, "score": 3}), 422, "bad_request")
    assert body["allowed"]["categories"] == [
        {"value": 1, "label": "warm"},
        {"value": 2, "label": "cold"},
    ]
    assert (await post(http, {"token": token, "score": 2})).status_code == 200
    body = assert_error(await post(http, {"token": token, "score": "x"}), 422, "bad_request")
    assert "finite number" in body["message"]


async def test_origin_must_be_allowed(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    refused = await post(http, {"token": token, "score": 1}, origin=EVIL)
    body = assert_error(refused, 403, "origin_not_allowed")
    # The refused page may read why (so the widget can say so), and nothing more.
    assert refused.headers["access-control-allow-origin"] == EVIL
    assert set(body) == {"error", "message"} and EVIL in body["message"]
    assert await feedback_on(gql, run_id) == []
    # The project's origins ...
    await gql.ok(
        "mutation($o: [String!]) { updateProject(input: {allowedOrigins: $o}) { id } }",
        {"o": [ALLOWED]},
    )
    ok = await post(http, {"token": token, "score": 1}, origin=ALLOWED)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in ok.headers
    assert_error(
        await post(http, {"token": token, "score": 1}, origin=EVIL), 403, "origin_not_allowed"
    )
    # ... or the token's.
    partner = "https://partner.example:8443"
    token2 = (await issue(gql, run_id, key="other", allowedOrigins=[partner]))["token"]
    assert (await post(http, {"token": token2, "score": 1}, origin=partner)).status_code == 200
    assert_error(
        await post(http, {"token": token, "score": 1}, origin=partner), 403, "origin_not_allowed"
    )
    # No Origin (not a browser) and this server's own origin are fine.
    assert (await post(http, {"token": token, "score": 0})).status_code == 200
    same = await post(http, {"token": token, "score": 0}, origin="http://testserver")
    assert same.status_code == 200


async def test_errors_are_readable_by_allowed_origins(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await gql.ok(
        "mutation($o: [String!]) { updateProject(input: {allowedOrigins: $o}) { id } }",
        {"o": [ALLOWED]},
    )
    bad = await post(http, {"token": "nope", "score": 1}, origin=ALLOWED)
    assert_error(bad, 401, "invalid_token")
    assert bad.headers["access-control-allow-origin"] == ALLOWED
    hidden = await post(http, {"token": "nope", "score": 1}, origin=EVIL)
    assert_error(hidden, 401, "invalid_token")
    assert "access-control-allow-origin" not in hidden.headers


async def test_body_and_comment_caps(
    app: Starlette, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    settings = services(app).settings
    huge = {"token": token, "value": "x" * (settings.public_max_body_bytes + 1)}
    assert_error(await post(http, huge), 413, "body_too_large")
    long_comment = "y" * (settings.public_max_comment_chars + 1)
    assert_error(
        await post(http, {"token": token, "comment": long_comment}), 400, "comment_too_long"
    )
    assert_error(await post(http, {"token": token, "comment": 5}), 400, "bad_request")
    assert_error(await post(http, {"token": token, "vote": 1}), 400, "bad_request")
    bad_json = await http.post(
        "/public/feedback", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(bad_json, 400, "invalid_json")
    assert_error(await post(http, [1, 2]), 400, "invalid_json")
    assert await feedback_on(gql, run_id) == []


async def test_retract_without_a_vote_is_not_found(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    assert_error(await post(http, {"token": token, "retract": True}), 404, "not_found")


async def test_preflight_allows_only_configured_origins(
    http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    def preflight(origin: str) -> Any:
        return http.options(
            "/public/feedback",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )

    refused = await preflight(ALLOWED)
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    await gql.ok(
        "mutation($o: [String!]) { updateProject(input: {allowedOrigins: $o}) { id } }",
        {"o": [ALLOWED]},
    )
    ok = await preflight(ALLOWED)
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert ok.headers["access-control-allow-headers"].lower() == "content-type"
    assert "access-control-allow-credentials" not in ok.headers
    assert "origin" in ok.headers["vary"].lower()
    evil = await preflight(EVIL)
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    # An origin listed only on a live token passes preflight too.
    run_id = await make_run(gql)
    partner = "https://partner.example"
    await issue(gql, run_id, allowedOrigins=[partner])
    assert (await preflight(partner)).headers["access-control-allow-origin"] == partner


async def test_signals_through_a_token(http: httpx.AsyncClient, gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    token = (await issue(gql, run_id))["token"]
    response = await http.post(
        "/public/signals", json={"token": token, "kind": "edit", "editedOutput": "Better"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "edit" and response.json()["runId"] == run_id
    data = await gql.ok("{ signals { nodes { kind runId editedOutput } } }")
    assert data["signals"]["nodes"] == [{"kind": "EDIT", "runId": run_id, "editedOutput": "Better"}]
    bad_kind = await http.post("/public/signals", json={"token": token, "kind": "wink"})
    assert_error(bad_kind, 400, "bad_request")
    assert_error(await http.post("/public/signals", json={"token": "bad"}), 401, "invalid_token")
