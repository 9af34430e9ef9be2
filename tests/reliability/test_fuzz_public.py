"""The public routes (no API key) under generated and hostile input: never a 5xx,
always a JSON error body, and nothing recorded from a bad request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.settings import Settings
from tests.conftest import Keys
from tests.live import live_server, make_project_sync

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
OPERATORS = [{"$gt": ""}, {"$ne": None}, {"$where": "1"}, {"$regex": ".*"}, ["$gt"]]
FIELDS = ("token", "score", "value", "comment", "correction")


@pytest.fixture
def server(settings: Settings, sync_db: Any) -> Iterator[tuple[str, str, str]]:
    """A live server, a run and a valid token for it."""
    keys: Keys = make_project_sync(settings, "fuzz-public")
    with live_server(settings) as url:
        run_id = str(uuid.uuid4())
        auth = {"Authorization": f"Bearer {keys.admin}"}
        httpx.post(
            f"{url}/graphql",
            json={"query": f'mutation {{ ingestRuns(runs: [{{id: "{run_id}"}}]) {{ id }} }}'},
            headers=auth,
        )
        body = httpx.post(
            f"{url}/graphql",
            json={
                "query": "mutation($i: [FeedbackTokenInput!]!) "
                "{ createFeedbackTokens(inputs: $i) { token } }",
                "variables": {"i": [{"runId": run_id, "key": "thumbs"}]},
            },
            headers=auth,
        ).json()
        yield url, run_id, body["data"]["createFeedbackTokens"][0]["token"]


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str)
        assert "Traceback" not in body["message"]


def check_page(response: httpx.Response) -> None:
    """Email-link pages answer in HTML, errors included (a person reads them)."""
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text


def test_generated_bodies(server: tuple[str, str, str]) -> None:
    url, _, token = server
    with httpx.Client(base_url=url, timeout=30) as http:

        @given(
            body=st.one_of(
                JSON,
                st.fixed_dictionaries(
                    {"token": st.just(token)},
                    optional={f: JSON for f in FIELDS if f != "token"},
                ),
            ),
            path=st.sampled_from(["/public/feedback", "/public/signals"]),
        )
        @settings(
            max_examples=60,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def post(body: Any, path: str) -> None:
            check(http.post(path, json=body, headers={"X-Forwarded-For": "203.0.113.1"}))

        post()


def test_hostile_public_inputs(server: tuple[str, str, str]) -> None:
    url, _, token = server
    with httpx.Client(base_url=url, timeout=60) as http:
        for field in FIELDS:
            for operator in OPERATORS:
                check(http.post("/public/feedback", json={"token": token, field: operator}))
        raw = [
            b"\xff\xfe\x00not utf-8",
            b'{"token": ',
            b"[" * 10_000 + b"]" * 10_000,
            b'{"token": "' + b"a" * (10 * 1024 * 1024) + b'"}',
        ]
        for body in raw:
            response = http.post(
                "/public/feedback", content=body, headers={"Content-Type": "application/json"}
            )
            check(response)
            assert response.status_code >= 400
        for path in (f"/f/{'x' * 5000}", "/f/%00%ff", f"/f/{token}?score=%24gt"):
            check_page(http.get(path))
            check_page(http.post(path, data={"score": "$gt", "comment": "x"}))
        # A NoSQL operator never reached the store as a query: nothing was recorded
        # except through valid votes, and the score is a plain value if present.
        ok = http.post("/public/feedback", json={"token": token, "score": 1})
        assert ok.status_code == 200, ok.text
        assert ok.json()["feedback"]["score"] == 1
