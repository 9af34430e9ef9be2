"""Every edge renders a public error with app.errors.error_response: the same status,
``{error, message, ...details}`` body and Retry-After on the public routes, the
LangSmith-compatible routes (which add ``detail``) and the app's own handler."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from app.settings import Settings
from tests.compat.langsmith.test_http import make_run
from tests.compat.langsmith.test_token_http import new_token
from tests.conftest import Keys

# The rate limits' clock is pinned: no window ends while a test counts.
pytestmark = pytest.mark.usefixtures("rate_limit_window")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, public_rate_limit_per_ip="2/minute")


async def test_a_langsmith_token_post_over_the_rate_limit_says_when_to_retry(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    run_id = await make_run(http, keys.ingest)
    token = await new_token(http, keys, run_id)
    path = f"/api/v1/feedback/tokens/{token['id']}"
    for score in (1, 0):
        assert (await http.post(path, json={"score": score})).status_code == 200
    limited = await http.post(path, json={"score": 1})
    assert limited.status_code == 429, limited.text
    body = limited.json()
    assert body["error"] == "rate_limited"
    assert body["detail"] == body["message"] and "too many requests" in body["message"]
    # The public routes always sent Retry-After with a 429; this route did not.
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_the_same_error_has_the_same_body_on_every_edge(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    # A token that is not one: the public widget route and the LangSmith route
    # both answer InvalidToken, and the export download (the app's own handler) a
    # missing API key.
    public = await http.post("/public/feedback", json={"token": "nope", "score": 1})
    langsmith = await http.post(f"/api/v1/feedback/tokens/{'0' * 8}", json={"score": 1})
    export = await http.get("/export/feedback")
    for response, status, error in [
        (public, 401, "invalid_token"),
        (langsmith, 401, "invalid_token"),
        (export, 401, "unauthenticated"),
    ]:
        assert response.status_code == status, response.text
        body = response.json()
        assert body["error"] == error and body["message"], body
        assert "retry-after" not in response.headers
    assert langsmith.json()["detail"] == langsmith.json()["message"]
