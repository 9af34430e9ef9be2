"""Generated malformed input (tests/reliability/hostile_json.py) in every JSON
position of every route family, against a live server: never a 5xx, always a JSON
error in the route's own shape (an HTML page for the email-link form), nothing
logged as an error, and not one stored document changed."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.settings import Settings
from tests.conftest import Keys
from tests.live import live_server, make_project_sync
from tests.reliability.hostile_json import (
    BIG_INTEGERS,
    HOSTILE,
    HUGE_INTEGERS,
    NOT_UTF8,
    OVERFLOWING_FLOATS,
    insert,
    place,
    positions,
)

RUNS = "mutation($r: [RunInput!]!) { ingestRuns(runs: $r) { id } }"
FEEDBACK = "mutation($i: FeedbackInput!) { createFeedback(input: $i) { id } }"
SIGNAL = (
    "mutation($r: ID!, $e: JSON) { recordSignal(runId: $r, kind: EDIT, editedOutput: $e) { id } }"
)
STORED = ("runs", "feedback", "feedback_keys", "feedback_tokens", "signals", "preferences")
REFUSALS = {"invalid_json", "number_out_of_range"}
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    template: Any
    shape: str  # graphql | public | langsmith
    auth: str | None  # the key to send, as an Authorization or x-api-key header


@dataclass
class World:
    url: str
    keys: Keys
    routes: list[Route]
    token: str


def _setup(url: str, keys: Keys) -> World:
    admin = {"Authorization": f"Bearer {keys.admin}"}
    run_id = str(uuid.uuid4())

    def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{url}/graphql", json={"query": query, "variables": variables}, headers=admin
        )
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    gql(RUNS, {"r": [{"id": run_id, "name": "chat", "inputs": {"q": [1, {"a": "x"}]}}]})
    stars = '{key: "stars", kind: CONTINUOUS, min: 1, max: 5}'
    gql(f"mutation {{ registerFeedbackKey(input: {stars}) {{ key }} }}", {})
    feedback_id = gql(FEEDBACK, {"i": {"runId": run_id, "key": "stars", "score": 3}})[
        "createFeedback"
    ]["id"]
    token = gql(
        "mutation($i: [FeedbackTokenInput!]!) { createFeedbackTokens(inputs: $i) { token } }",
        {"i": [{"runId": run_id, "key": "stars"}]},
    )["createFeedbackTokens"][0]["token"]
    token_id = httpx.post(
        f"{url}/feedback/tokens",
        json={"run_id": run_id, "feedback_key": "stars"},
        headers={"x-api-key": keys.ingest},
    ).json()["id"]
    run = {
        "id": run_id,
        "name": "chat",
        "run_type": "llm",
        "inputs": {"messages": [{"role": "user", "content": "hi"}]},
        "outputs": {"text": "hello", "n": [1, 2.5]},
        "extra": {"metadata": {"model": "m", "t": 0.5}},
        "tags": ["a"],
    }
    ingest = {"id": run_id, "name": "n", "inputs": {"q": [1]}, "outputs": {"o": {"p": 1}}}
    content = {"score": 4, "value": {"v": [1, "x"]}, "comment": "c", "correction": {"c": 1}}
    routes = [
        Route(
            "graphql runs",
            "POST",
            "/graphql",
            {
                "query": RUNS,
                "variables": {"r": [{**ingest, "metadata": {"m": [1]}, "tags": ["t"]}]},
            },
            "graphql",
            keys.admin,
        ),
        Route(
            "graphql feedback",
            "POST",
            "/graphql",
            {
                "query": FEEDBACK,
                "variables": {
                    "i": {"runId": run_id, "key": "stars", **content, "sourceInfo": {"s": 1}}
                },
            },
            "graphql",
            keys.admin,
        ),
        Route(
            "graphql signal, no key",
            "POST",
            "/graphql",
            {"query": SIGNAL, "variables": {"r": run_id, "e": {"text": "x"}}},
            "graphql",
            None,
        ),
        Route(
            "public feedback",
            "POST",
            "/public/feedback",
            {"token": token, **content},
            "public",
            None,
        ),
        Route(
            "public signals",
            "POST",
            "/public/signals",
            {"token": token, "kind": "edit", "editedOutput": {"text": "x", "n": [1]}},
            "public",
            None,
        ),
        Route("runs", "POST", "/runs", {**run, "id": str(uuid.uuid4())}, "langsmith", keys.ingest),
        Route(
            "runs patch",
            "PATCH",
            f"/api/v1/runs/{run_id}",
            {"outputs": {"o": [1]}, "end_time": "2025-01-01T00:00:00Z"},
            "langsmith",
            keys.ingest,
        ),
        Route(
            "runs batch",
            "POST",
            "/runs/batch",
            {
                "post": [{**run, "id": str(uuid.uuid4())}],
                "patch": [{"id": run_id, "outputs": {"o": 1}}],
            },
            "langsmith",
            keys.ingest,
        ),
        Route(
            "runs query",
            "POST",
            "/runs/query",
            {"id": [run_id], "limit": 5, "select": ["id"]},
            "langsmith",
            keys.read,
        ),
        Route(
            "feedback",
            "POST",
            "/feedback",
            {
                "run_id": run_id,
                "key": "stars",
                "score": 4,
                "value": {"v": 1},
                "comment": "c",
                "feedback_source": {"type": "api", "metadata": {"m": [1]}},
                "extra": {"e": 1},
            },
            "langsmith",
            keys.ingest,
        ),
        Route(
            "feedback patch",
            "PATCH",
            f"/feedback/{feedback_id}",
            {"score": 4, "comment": "c"},
            "langsmith",
            keys.ingest,
        ),
        Route(
            "feedback configs",
            "POST",
            "/feedback-configs",
            {"feedback_key": "k2", "feedback_config": {"type": "continuous", "min": 0, "max": 1}},
            "langsmith",
            keys.admin,
        ),
        Route(
            "token create",
            "POST",
            "/feedback/tokens",
            {"run_id": run_id, "feedback_key": "stars", "expires_in": {"days": 1}},
            "langsmith",
            keys.ingest,
        ),
        Route(
            "token submit, no key",
            "POST",
            f"/feedback/tokens/{token_id}",
            {**content, "metadata": {"m": 1}},
            "langsmith",
            None,
        ),
    ]
    return World(url=url, keys=keys, routes=routes, token=token)


@pytest.fixture
def world(settings: Settings, sync_db: Any) -> Iterator[World]:
    roomy = replace(settings, public_rate_limit_per_ip="100000/minute")
    keys = make_project_sync(roomy, "fuzz-malformed")
    with live_server(roomy) as url:
        yield _setup(url, keys)


def snapshot(db: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: list(db[name].find({}, sort=[("_id", 1)])) for name in STORED}


@pytest.fixture
def untouched(world: World, sync_db: Any, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """After the test: every stored document as it was, and no error logged."""
    before = snapshot(sync_db)
    with caplog.at_level(logging.WARNING):
        yield
    assert snapshot(sync_db) == before
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def send(http: httpx.Client, route: Route, content: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if route.auth is not None:
        if route.shape == "langsmith":
            headers["x-api-key"] = route.auth
        else:
            headers["Authorization"] = f"Bearer {route.auth}"
    return http.request(route.method, route.path, content=content, headers=headers)


def check_refused(response: httpx.Response, shape: str, codes: set[str] = REFUSALS) -> None:
    """A 4xx (GraphQL: errors and no data) as JSON in the route's own shape."""
    assert response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    if shape == "graphql":
        assert body["errors"] and body.get("data") is None, body
        assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_REQUEST"}, body
        return
    assert 400 <= response.status_code < 500, response.text
    assert body["error"] in codes and isinstance(body["message"], str), body
    if shape == "langsmith":
        assert body["detail"] == body["message"]


def test_hostile_values_in_every_json_position(world: World, untouched: None) -> None:
    with httpx.Client(base_url=world.url, timeout=60) as http:

        @FUZZ
        @given(route=st.sampled_from(world.routes), data=st.data())
        def post(route: Route, data: st.DataObject) -> None:
            path = data.draw(st.sampled_from(list(positions(route.template))), label="position")
            raw = data.draw(HOSTILE, label="hostile")
            content = place(route.template, path, raw)
            # Sometimes cut short too: a second problem after the first.
            if path and data.draw(st.booleans(), label="cut short"):
                content = content[:-1]
            check_refused(send(http, route, content), route.shape)

        post()


def test_bytes_that_are_not_utf8_anywhere(world: World, untouched: None) -> None:
    with httpx.Client(base_url=world.url, timeout=60) as http:

        @FUZZ
        @given(route=st.sampled_from(world.routes), offset=st.integers(0, 400), bad=NOT_UTF8)
        def post(route: Route, offset: int, bad: bytes) -> None:
            content = insert(json.dumps(route.template).encode(), offset, bad)
            check_refused(send(http, route, content), route.shape)

        post()


LITERAL_POSITIONS = [
    'mutation {{ ingestRuns(runs: [{{id: "{run}", inputs: {{a: [1, {x}]}}}}]) {{ id }} }}',
    'mutation {{ ingestRuns(runs: [{{id: "{run}", metadata: {x}}}]) {{ id }} }}',
    'mutation {{ createFeedback(input: {{runId: "{run}", key: "s", score: {x}}}) {{ id }} }}',
    'mutation {{ createFeedback(input: {{runId: "{run}", key: "v", value: [{x}]}}) {{ id }} }}',
]


def test_graphql_literals_get_variables_query_strings_and_forms(
    world: World, untouched: None
) -> None:
    run_id = world.routes[0].template["variables"]["r"][0]["id"]
    auth = {"Authorization": f"Bearer {world.keys.admin}"}
    with httpx.Client(base_url=world.url, timeout=60) as http:

        @FUZZ
        @given(where=st.sampled_from(LITERAL_POSITIONS), raw=HOSTILE)
        def literal(where: str, raw: bytes) -> None:
            # GraphQL object keys are names, not strings.
            value = raw.decode().replace('{"a":', "{a:")
            query = where.format(run=run_id, x=value)
            check_refused(http.post("/graphql", json={"query": query}, headers=auth), "graphql")

        @FUZZ
        @given(raw=HOSTILE | NOT_UTF8, name=st.sampled_from(["variables", "extensions"]))
        def get(raw: bytes, name: str) -> None:
            params = f"query=%7Bproject%7Bid%7D%7D&{name}={quote_from_bytes(raw)}"
            check_refused(http.get(f"/graphql?{params}", headers=auth), "graphql")

        @FUZZ
        @given(
            bad=NOT_UTF8,
            where=st.sampled_from(
                [
                    (
                        "/export/feedback?key=",
                        "public",
                        {"Authorization": f"Bearer {world.keys.read}"},
                    ),
                    (
                        "/export/dpo?sources=",
                        "public",
                        {"Authorization": f"Bearer {world.keys.read}"},
                    ),
                    ("/feedback?key=", "langsmith", {"x-api-key": world.keys.read}),
                    (
                        "/api/v1/feedback/tokens?run_id=",
                        "langsmith",
                        {"x-api-key": world.keys.read},
                    ),
                ]
            ),
        )
        def query_string(bad: bytes, where: tuple[str, str, dict[str, str]]) -> None:
            path, shape, headers = where
            response = http.get(path + "x" + quote_from_bytes(bad), headers=headers)
            check_refused(response, shape, {"bad_request"})

        # In a comment box, brackets and "\ud800" are only text; bytes that are not
        # UTF-8 are refused in either field, numbers that do not fit in the score.
        bad_score = BIG_INTEGERS | HUGE_INTEGERS | OVERFLOWING_FLOATS | NOT_UTF8

        @FUZZ
        @given(
            field_raw=st.tuples(st.just("score"), bad_score)
            | st.tuples(st.just("comment"), NOT_UTF8),
        )
        def form(field_raw: tuple[str, bytes]) -> None:
            field, raw = field_raw
            other = "comment=ok" if field == "score" else "score=1"
            response = http.post(
                f"/f/{world.token}",
                content=f"{field}={quote_from_bytes(raw)}&{other}",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            # A person reads this one: an HTML page.
            assert 400 <= response.status_code < 500, response.text
            assert response.headers["content-type"].startswith("text/html")

        literal()
        get()
        query_string()
        form()


SUBSCRIBE = "subscription($r: [ID!]) { feedbackEvents(runIds: $r) { kind } }"


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 3000 + b"]" * 3000,
        place(
            {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}},
            ("payload", "variables"),
            b'{"r": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        ),
        place(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"r": ["x"]}},
            },
            ("payload", "variables", "r", 0),
            b'"\\ud800"',
        ),
        place(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"r": ["x"]}},
            },
            ("payload", "variables", "r"),
            str(2**63).encode(),
        ),
        place(
            {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}, ("id",), b"9" * 400
        ),
        b'{"id": "1", "type": "subscribe", "payload": {"x": NaN}}',
    ],
    ids=["deep", "deep-variables", "lone-surrogate", "big-int", "huge-int", "nan"],
)
def test_websocket_messages_go_through_the_same_decoder(
    world: World, untouched: None, raw: bytes
) -> None:
    """graphql-transport-ws: a message the decoder refuses closes the socket with
    4400 (Strawberry's answer to a message that is not JSON), no traceback."""
    url = world.url.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {
            "type": "connection_init",
            "payload": {"Authorization": f"Bearer {world.keys.read}"},
        }
        ws.send(json.dumps(init))
        assert json.loads(ws.recv(timeout=30))["type"] == "connection_ack"
        ws.send(raw.decode())
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
