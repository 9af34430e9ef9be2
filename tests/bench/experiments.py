"""An experiment's upload: the Python SDK's ``evaluate()`` against the same work
through the plain feedback API.

    .venv/bin/python -m tests.bench.experiments [--examples 1000] [--concurrency 4]

The server runs as its own process (`plaudit serve`). ``evaluate()`` runs a trivial
target over a dataset of N examples with three evaluators (so 3N scores), with
the SDK's background batching on (runs go to /runs/batch) and ``max_concurrency``
threads. The plain path sends the same N runs through /runs/batch (100 a call) and
3N feedback records through POST /feedback, from the same number of threads.
Requests are counted at the HTTP client; times are wall-clock, dataset upload
excluded."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import requests
from langsmith import Client, evaluate

from app.domain.auth import create_key
from app.store import Stores
from app.store.client import make_client
from app.store.indexes import ensure_indexes
from tests.bench.common import server, store

KEYS = ("exact", "close", "short")


@dataclass
class Outcome:
    path: str
    seconds: float
    requests: int
    runs: int
    feedback: int


async def setup(uri: str, db_name: str) -> str:
    client = make_client(uri)
    stores = Stores.open(client[db_name])
    await ensure_indexes(stores.db)
    project = await stores.projects.create(f"bench-{uuid.uuid4().hex[:6]}")
    _, admin = await create_key(stores, project.id, "admin")
    await client.close()
    return admin


def counting_session() -> tuple[requests.Session, Callable[[], int]]:
    session = requests.Session()
    count = [0]

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        count[0] += 1

    session.hooks["response"].append(hook)
    return session, lambda: count[0]


def exact(outputs: dict[str, Any], reference_outputs: dict[str, Any]) -> bool:
    return bool(outputs["y"] == reference_outputs["y"])


def close(outputs: dict[str, Any], reference_outputs: dict[str, Any]) -> float:
    return 1 / (1 + abs(outputs["y"] - reference_outputs["y"]))


def short(outputs: dict[str, Any]) -> bool:
    return len(str(outputs["y"])) < 4


def with_sdk(url: str, key: str, n: int, concurrency: int) -> Outcome:
    session, count = counting_session()
    client = Client(api_url=url, api_key=key, session=session, auto_batch_tracing=True)
    dataset = client.create_dataset(f"bench-{uuid.uuid4().hex[:6]}")
    client.create_examples(
        dataset_id=dataset.id,
        examples=[{"inputs": {"x": i}, "reference_outputs": {"y": i * 2}} for i in range(n)],
    )
    before = count()
    start = time.perf_counter()
    results = evaluate(
        lambda inputs: {"y": inputs["x"] * 2},
        data=dataset.name,
        evaluators=[exact, close, short],
        client=client,
        max_concurrency=concurrency,
    )
    assert len(list(results)) == n
    client.flush()
    seconds = time.perf_counter() - start
    requests_made = count() - before
    client.cleanup()
    return Outcome("evaluate()", seconds, requests_made, n, 3 * n)


def with_plain_api(url: str, key: str, n: int, concurrency: int) -> Outcome:
    headers = {"x-api-key": key}
    project = f"plain-{uuid.uuid4().hex[:6]}"
    runs = [
        {
            "id": str(uuid.uuid4()),
            "name": "target",
            "run_type": "chain",
            "inputs": {"x": i},
            "outputs": {"y": i * 2},
            "session_name": project,
            "start_time": "2025-01-01T00:00:00Z",
            "end_time": "2025-01-01T00:00:01Z",
        }
        for i in range(n)
    ]
    made = [0]
    start = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for at in range(0, n, 100):
            response = http.post("/runs/batch", json={"post": runs[at : at + 100]})
            made[0] += 1
            response.raise_for_status()

        def give(item: tuple[dict[str, Any], str]) -> None:
            run, feedback_key = item
            response = http.post(
                "/feedback",
                json={"run_id": run["id"], "key": feedback_key, "score": 1,
                      "feedback_source": {"type": "model"}},
            )  # fmt: skip
            response.raise_for_status()

        work = [(run, k) for run in runs for k in KEYS]
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(give, work))
        made[0] += len(work)
    return Outcome("plain API", time.perf_counter() - start, made[0], n, 3 * n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with store() as uri:
        db_name = f"bench_{uuid.uuid4().hex[:8]}"
        admin = asyncio.run(setup(uri, db_name))
        with server(uri, db_name) as (url, _pid):
            outcomes = [
                with_sdk(url, admin, args.examples, args.concurrency),
                with_plain_api(url, admin, args.examples, args.concurrency),
            ]
    print(f"{args.examples} examples x {len(KEYS)} evaluators, concurrency {args.concurrency}")
    print(f"{'path':<12} {'seconds':>8} {'requests':>9} {'runs':>6} {'scores':>7} {'scores/s':>9}")
    for o in outcomes:
        print(
            f"{o.path:<12} {o.seconds:>8.1f} {o.requests:>9} {o.runs:>6} {o.feedback:>7} "
            f"{o.feedback / o.seconds:>9.0f}"
        )


if __name__ == "__main__":
    main()
