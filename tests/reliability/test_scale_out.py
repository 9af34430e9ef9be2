"""Several app processes on one database: rate limits and token use counts are
shared, so they hold however requests are spread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import Keys
from tests.live import free_port, live_server, make_project_sync

ISSUE = """mutation($i: [FeedbackTokenInput!]!) { createFeedbackTokens(inputs: $i) { token } }"""


def graphql(url: str, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def new_token(url: str, keys: Keys, **token: Any) -> tuple[str, str]:
    run_id = str(uuid.uuid4())
    graphql(
        url,
        keys.ingest,
        "mutation($id: ID!) { ingestRuns(runs: [{id: $id}]) { id } }",
        {"id": run_id},
    )
    data = graphql(url, keys.ingest, ISSUE, {"i": [{"runId": run_id, "key": "thumbs", **token}]})
    return run_id, data["createFeedbackTokens"][0]["token"]


def vote_everywhere(urls: list[str], token: str, n: int) -> Counter[int]:
    def one(i: int) -> int:
        response = httpx.post(
            f"{urls[i % len(urls)]}/public/feedback",
            json={"token": token, "score": i % 2},
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        return Counter(pool.map(one, range(n)))


@pytest.fixture
def two_servers(
    settings: Settings, sync_db: Any, rate_limit_window: float
) -> Iterator[tuple[list[str], Keys]]:
    """Two app instances in this process, the rate limits' clock pinned to one window."""
    limited = replace(
        settings, public_rate_limit_per_token="7/minute", public_rate_limit_per_ip="1000/minute"
    )
    keys = make_project_sync(limited, "scale")
    with live_server(limited) as first, live_server(limited) as second:
        yield [first, second], keys


def test_token_uses_are_shared_across_instances(two_servers: tuple[list[str], Keys]) -> None:
    urls, keys = two_servers
    _, token = new_token(urls[0], keys, maxUses=5)
    statuses = vote_everywhere(urls, token, 40)
    assert statuses[200] == 5, statuses
    assert set(statuses) <= {200, 409, 429}, statuses


def test_rate_limits_are_shared_across_instances(two_servers: tuple[list[str], Keys]) -> None:
    urls, keys = two_servers
    _, token = new_token(urls[0], keys)
    statuses = vote_everywhere(urls, token, 30)
    assert statuses == Counter({200: 7, 429: 23}), statuses


def test_serve_with_two_workers(mongo_uri: str, db_name: str, sync_db: Any) -> None:
    """`plaudit serve --workers 2` on an external database: both workers answer and
    the token's use limit holds across them."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLAUDIT_")},
        "MONGODB_URI": mongo_uri,
        "PLAUDIT_DB": db_name,
        "PLAUDIT_PORT": str(port),
        "PLAUDIT_SECRET_KEYS": "workers-secret-" + "x" * 32,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "serve --workers 2 did not become ready"
            time.sleep(0.2)
        settings = Settings(mongodb_uri=mongo_uri, db_name=db_name, secret_keys=("x" * 40,))
        keys = make_project_sync(settings, "workers")
        _, token = new_token(url, keys, maxUses=3)
        statuses = vote_everywhere([url], token, 24)
        assert statuses[200] == 3, statuses
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, err
