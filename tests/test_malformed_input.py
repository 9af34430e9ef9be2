"""Malformed input on every route family gets a 4xx in the route's own error shape,
never a 500: JSON nested 1,000 deep, bytes that are not UTF-8, lone surrogates,
integers outside 64 bits, a 400-digit score. Nothing stored changes, and nothing
is logged as an error (each of these answered 500 with a traceback before)."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, Keys

DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJECTS = b'{"a":' * 1000 + b"1" + b"}" * 1000
BIG = str(2**63).encode()
SMALL = str(-(2**63) - 1).encode()
HUGE = b"9" * 400
LONE = b'"\\ud800"'
INGEST = "mutation($r: [RunInput!]!) { ingestRuns(runs: $r) { id } }"
CREATE_FEEDBACK = "mutation($i: FeedbackInput!) { createFeedback(input: $i) { id } }"


def body(template: Any, **raw: bytes) -> bytes:
    """``template`` as JSON, each ``"@name@"`` in it replaced by raw JSON text."""
    text = json.dumps(template).encode()
    for name, value in raw.items():
        text = text.replace(f'"@{name}@"'.encode(), value)
    return text


def query(text: str, literal: bytes) -> str:
    """A GraphQL request body whose query has ``literal`` in place of ``@``."""
    return json.dumps({"query": text.replace("@", literal.decode())})


@dataclass
class World:
    keys: Keys
    run_id: str
    feedback_id: str
    token: str  # a presigned token for the run and the registered key "stars"
    token_id: str  # a LangSmith token (the UUID in its URL) for the same


@pytest.fixture
async def world(http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys) -> World:
    run_id = str(uuid.uuid4())
    await gql.ok(INGEST, {"r": [{"id": run_id, "name": "chat", "inputs": {"q": 1}}]})
    await gql.ok(
        'mutation { registerFeedbackKey(input: {key: "stars", kind: CONTINUOUS, min: 1, max: 5})'
        " { key } }"
    )
    created = await gql.ok(
        CREATE_FEEDBACK,
        {"i": {"runId": run_id, "key": "stars", "score": 3, "value": {"v": 1}, "comment": "kept"}},
    )
    issued = await gql.ok(
        "mutation($i: [FeedbackTokenInput!]!) { createFeedbackTokens(inputs: $i) { token } }",
        {"i": [{"runId": run_id, "key": "stars"}]},
    )
    ls_token = await http.post(
        "/feedback/tokens",
        json={"run_id": run_id, "feedback_key": "stars"},
        headers={"x-api-key": keys.ingest},
    )
    assert ls_token.status_code == 200, ls_token.text
    return World(
        keys=keys,
        run_id=run_id,
        feedback_id=created["createFeedback"]["id"],
        token=issued["createFeedbackTokens"][0]["token"],
        token_id=ls_token.json()["id"],
    )


STORED = ("runs", "feedback", "feedback_keys", "feedback_tokens", "signals", "preferences")


def snapshot(db: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: list(db[name].find({}, sort=[("_id", 1)])) for name in STORED}


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    body: bytes | str | None
    shape: str  # graphql | public | langsmith | page
    words: str
    status: int = 400
    code: str | None = None  # the stable error code, where the shape has one
    auth: str = "admin"  # which key to send, or "" for none
    content_type: str = "application/json"


GRAPHQL = [
    Case(
        "graphql-deep-no-key", "POST", "/graphql", DEEP, "graphql", "nested more than 128", auth=""
    ),
    Case("graphql-deep-objects", "POST", "/graphql", DEEP_OBJECTS, "graphql", "nested more than"),
    Case(
        "graphql-invalid-utf8",
        "POST",
        "/graphql",
        b'{"query":"{ a \xff }"}',
        "graphql",
        "not valid UTF-8 (byte 14)",
        auth="",
    ),
    Case(
        "graphql-surrogate-run-name",
        "POST",
        "/graphql",
        body({"query": INGEST, "variables": {"r": [{"id": "{run}", "name": "@x@"}]}}, x=LONE),
        "graphql",
        "variables.r[0].name holds a lone UTF-16 surrogate (U+D800)",
    ),
    Case(
        "graphql-big-int-inputs",
        "POST",
        "/graphql",
        body(
            {"query": INGEST, "variables": {"r": [{"id": "{run}", "inputs": {"a": "@x@"}}]}}, x=BIG
        ),
        "graphql",
        "variables.r[0].inputs.a is 9223372036854775808, outside the signed 64-bit",
    ),
    Case(
        "graphql-small-int-metadata",
        "POST",
        "/graphql",
        body(
            {"query": INGEST, "variables": {"r": [{"id": "{run}", "metadata": ["@x@"]}]}}, x=SMALL
        ),
        "graphql",
        "variables.r[0].metadata[0] is -9223372036854775809",
    ),
    Case(
        "graphql-big-int-value",
        "POST",
        "/graphql",
        body(
            {
                "query": CREATE_FEEDBACK,
                "variables": {"i": {"runId": "{run}", "key": "k", "value": "@x@"}},
            },
            x=BIG,
        ),
        "graphql",
        "variables.i.value is 9223372036854775808",
    ),
    Case(
        "graphql-huge-score",
        "POST",
        "/graphql",
        body(
            {
                "query": CREATE_FEEDBACK,
                "variables": {"i": {"runId": "{run}", "key": "stars", "score": "@x@"}},
            },
            x=HUGE,
        ),
        "graphql",
        "variables.i.score is a 400-digit integer",
    ),
    # Literals in the query text reach the same checks (a validation error, HTTP 200).
    Case(
        "graphql-big-int-literal",
        "POST",
        "/graphql",
        query('mutation { ingestRuns(runs: [{id: "{run}", inputs: {a: [@]}}]) { id } }', BIG),
        "graphql",
        "JSON literal: a[0] is 9223372036854775808",
        status=200,
    ),
    Case(
        "graphql-huge-score-literal",
        "POST",
        "/graphql",
        query(
            'mutation { createFeedback(input: {runId: "{run}", key: "stars", score: @}) { id } }',
            HUGE,
        ),
        "graphql",
        "Score must fit in a signed 64-bit integer",
        status=200,
    ),
    Case(
        "graphql-get-deep-variables",
        "GET",
        "/graphql?query={project{id}}&variables=" + "%5B" * 1000 + "%5D" * 1000,
        None,
        "graphql",
        "the JSON is nested more than 128",
    ),
    Case(
        "graphql-get-invalid-utf8",
        "GET",
        "/graphql?query=%7B%20a%20%FF%20%7D",
        None,
        "graphql",
        "the query string is not valid UTF-8",
    ),
]

PUBLIC = [
    Case(
        f"public-{path}-{name}", "POST", f"/public/{path}", raw, "public", words, code=code, auth=""
    )
    for path in ("feedback", "signals")
    for name, raw, code, words in [
        ("deep", DEEP, "invalid_json", "nested more than 128 levels deep"),
        ("deep-objects", DEEP_OBJECTS, "invalid_json", "nested more than 128 levels deep"),
        ("invalid-utf8", b'{"token": "\xff"}', "invalid_json", "not valid UTF-8 (byte 11)"),
        ("surrogate-token", body({"token": "@x@"}, x=LONE), "invalid_json", "token holds a lone"),
    ]
] + [
    Case(
        "public-surrogate-comment",
        "POST",
        "/public/feedback",
        body({"token": "{token}", "comment": "@x@"}, x=b'"a\\udfffb"'),
        "public",
        "comment holds a lone UTF-16 surrogate (U+DFFF)",
        code="invalid_json",
        auth="",
    ),
    Case(
        "public-big-int-value",
        "POST",
        "/public/feedback",
        body({"token": "{token}", "value": {"n": "@x@"}}, x=BIG),
        "public",
        "value.n is 9223372036854775808",
        code="number_out_of_range",
        auth="",
    ),
    Case(
        "public-big-int-correction",
        "POST",
        "/public/feedback",
        body({"token": "{token}", "correction": ["@x@"]}, x=SMALL),
        "public",
        "correction[0] is -9223372036854775809",
        code="number_out_of_range",
        auth="",
    ),
    Case(
        "public-huge-score",
        "POST",
        "/public/feedback",
        body({"token": "{token}", "score": "@x@"}, x=HUGE),
        "public",
        "score is a 400-digit integer",
        code="number_out_of_range",
        auth="",
    ),
    Case(
        "public-big-int-edited-output",
        "POST",
        "/public/signals",
        body({"token": "{token}", "kind": "edit", "editedOutput": {"x": "@x@"}}, x=BIG),
        "public",
        "editedOutput.x is 9223372036854775808",
        code="number_out_of_range",
        auth="",
    ),
]

LANGSMITH = [
    Case(
        "ls-runs-deep",
        "POST",
        "/runs",
        DEEP,
        "langsmith",
        "nested more than 128",
        code="invalid_json",
    ),
    Case(
        "ls-batch-deep-objects",
        "POST",
        "/runs/batch",
        DEEP_OBJECTS,
        "langsmith",
        "nested more than 128",
        code="invalid_json",
    ),
    Case(
        "ls-feedback-invalid-utf8",
        "POST",
        "/feedback",
        b'{"key": "\xff"}',
        "langsmith",
        "not valid UTF-8 (byte 9)",
        code="invalid_json",
    ),
    Case(
        "ls-runs-surrogate-name",
        "POST",
        "/runs",
        body({"id": "{new_run}", "name": "@x@"}, x=LONE),
        "langsmith",
        "name holds a lone UTF-16 surrogate",
        code="invalid_json",
    ),
    Case(
        "ls-runs-big-int-inputs",
        "POST",
        "/runs",
        body({"id": "{new_run}", "inputs": {"a": "@x@"}}, x=BIG),
        "langsmith",
        "inputs.a is 9223372036854775808",
        code="number_out_of_range",
    ),
    Case(
        "ls-runs-big-int-metadata",
        "PATCH",
        "/runs/{run}",
        body({"extra": {"metadata": {"a": "@x@"}}}, x=SMALL),
        "langsmith",
        "extra.metadata.a is -9223372036854775809",
        code="number_out_of_range",
    ),
    Case(
        "ls-batch-big-int-outputs",
        "POST",
        "/runs/batch",
        body({"patch": [{"id": "{run}", "outputs": {"a": "@x@"}}]}, x=BIG),
        "langsmith",
        "patch[0].outputs.a is 9223372036854775808",
        code="number_out_of_range",
    ),
    Case(
        "ls-feedback-huge-score",
        "POST",
        "/feedback",
        body({"run_id": "{run}", "key": "stars", "score": "@x@"}, x=HUGE),
        "langsmith",
        "score is a 400-digit integer",
        code="number_out_of_range",
    ),
    Case(
        "ls-feedback-update-huge-score",
        "PATCH",
        "/feedback/{feedback}",
        body({"score": "@x@"}, x=HUGE),
        "langsmith",
        "score is a 400-digit integer",
        code="number_out_of_range",
    ),
    Case(
        "ls-feedback-big-int-value",
        "POST",
        "/feedback",
        body({"run_id": "{run}", "key": "stars", "value": {"v": "@x@"}}, x=BIG),
        "langsmith",
        "value.v is 9223372036854775808",
        code="number_out_of_range",
    ),
    Case(
        "ls-token-huge-score",
        "POST",
        "/feedback/tokens/{token_id}",
        body({"score": "@x@"}, x=HUGE),
        "langsmith",
        "score is a 400-digit integer",
        code="number_out_of_range",
        auth="",
    ),
    Case(
        "ls-token-surrogate-comment",
        "POST",
        "/feedback/tokens/{token_id}",
        body({"comment": "@x@"}, x=LONE),
        "langsmith",
        "comment holds a lone",
        code="invalid_json",
        auth="",
    ),
    Case(
        "ls-config-big-int",
        "POST",
        "/feedback-configs",
        body(
            {
                "feedback_key": "k2",
                "feedback_config": {"type": "continuous", "min": 0, "max": "@x@"},
            },
            x=BIG,
        ),
        "langsmith",
        "feedback_config.max is 9223372036854775808",
        code="number_out_of_range",
    ),
    Case(
        "ls-query-cursor-deep",
        "POST",
        "/runs/query",
        body({"cursor": "@x@"}, x=b'"' + base64.urlsafe_b64encode(DEEP) + b'"'),
        "langsmith",
        "invalid cursor",
        code="bad_request",
    ),
    Case(
        "ls-query-string-invalid-utf8",
        "GET",
        "/feedback?key=%FF",
        None,
        "langsmith",
        "the query string is not valid UTF-8",
        code="bad_request",
    ),
]

OTHER = [
    Case(
        "export-query-string-invalid-utf8",
        "GET",
        "/export/feedback?key=%ED%A0%80",
        None,
        "public",
        "the query string is not valid UTF-8",
        code="bad_request",
    ),
    Case(
        "email-form-surrogate",
        "POST",
        "/f/{token}",
        "score=1&comment=%ED%A0%80",
        "page",
        "the form is not valid UTF-8",
        auth="",
        content_type="application/x-www-form-urlencoded",
    ),
    Case(
        "email-form-invalid-utf8",
        "POST",
        "/f/{token}",
        b"score=1&comment=\xff",
        "page",
        "the form is not valid UTF-8",
        auth="",
        content_type="application/x-www-form-urlencoded",
    ),
    Case(
        "email-form-huge-score",
        "POST",
        "/f/{token}",
        "score=" + "9" * 300,
        "page",
        "score is a 300-digit integer",
        auth="",
        content_type="application/x-www-form-urlencoded",
    ),
]


def fill(text: str, world: World) -> str:
    for name, value in {
        "run": world.run_id,
        "feedback": world.feedback_id,
        "token_id": world.token_id,
        "token": world.token,
        "new_run": str(uuid.uuid4()),
    }.items():
        text = text.replace("{" + name + "}", value)
    return text


async def send(http: httpx.AsyncClient, case: Case, world: World) -> httpx.Response:
    content = case.body
    if isinstance(content, bytes):
        content = fill(content.decode("utf-8", "surrogateescape"), world).encode(
            "utf-8", "surrogateescape"
        )
    elif isinstance(content, str):
        content = fill(content, world)
    headers = {"Content-Type": case.content_type}
    if case.auth:
        key = getattr(world.keys, case.auth)
        headers["Authorization" if case.shape in ("graphql", "public") else "x-api-key"] = (
            f"Bearer {key}" if case.shape in ("graphql", "public") else key
        )
    return await http.request(case.method, fill(case.path, world), content=content, headers=headers)


@pytest.mark.parametrize("case", [*GRAPHQL, *PUBLIC, *LANGSMITH, *OTHER], ids=lambda c: c.id)
async def test_refused_with_a_4xx_in_the_routes_own_shape(
    http: httpx.AsyncClient,
    world: World,
    sync_db: Any,
    caplog: pytest.LogCaptureFixture,
    case: Case,
) -> None:
    before = snapshot(sync_db)
    with caplog.at_level(logging.WARNING):
        response = await send(http, case, world)
    assert response.status_code == case.status, response.text
    if case.shape == "page":
        assert response.headers["content-type"].startswith("text/html")
        assert case.words in response.text
    else:
        assert response.headers["content-type"] == "application/json", response.text
        got = response.json()
        if case.shape == "graphql":
            [error] = got["errors"]
            assert error["extensions"]["code"] == "BAD_REQUEST"
            assert case.words in error["message"], error
            assert got.get("data") is None
        else:
            assert got["error"] == case.code and case.words in got["message"], got
            if case.shape == "langsmith":
                assert got["detail"] == got["message"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert snapshot(sync_db) == before
