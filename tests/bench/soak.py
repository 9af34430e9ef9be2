"""Soak: a steady load for a long time; errors and memory growth.

    .venv/bin/python -m tests.bench.soak [--minutes 10] [--rate N]

Without --rate it first measures peak throughput of GraphQL createFeedback (10 s at
concurrency 16) and then holds half of it. Pass criteria from the issue: zero
errors and server RSS growth under 10% (measured from the end of a one-minute
warm-up, so start-up allocation does not count)."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter

import httpx
import psutil

from tests.bench.common import server, store
from tests.bench.ingest import CREATE, drive, setup

MAX_IN_FLIGHT = 64


async def paced(
    url: str, secret: str, runs: list[str], rate: float, seconds: float
) -> tuple[int, Counter[str]]:
    """Send `rate` requests a second (open loop) for `seconds`; (sent, errors by
    kind: HTTP status, GraphQL error code or transport exception)."""
    sent = 0
    errors: Counter[str] = Counter()
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    ) as http:
        tasks: set[asyncio.Task[None]] = set()
        # Requests wait here, not in httpx's connection pool: its queue costs time
        # per queued request, so a backlog there made the load generator itself
        # the bottleneck (a pause in the store snowballed into minutes).
        in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(i: int) -> None:
            variables = {
                "i": {
                    "runId": runs[i % len(runs)],
                    "key": "soak",
                    "score": i % 2,
                    "userId": uuid.uuid4().hex,
                }
            }
            try:
                async with in_flight:
                    r = await http.post("/graphql", json={"query": CREATE, "variables": variables})
                if r.status_code != 200:
                    errors[f"HTTP {r.status_code}"] += 1
                elif "errors" in (body := r.json()):
                    errors[str(body["errors"][0].get("extensions", {}).get("code"))] += 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1

        start = time.perf_counter()
        while (now := time.perf_counter() - start) < seconds:
            due = int(now * rate)
            while sent < due:
                task = asyncio.create_task(one(sent))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
    return sent, errors


async def main_async(minutes: float, rate: float | None) -> None:
    db_name = f"soak_{uuid.uuid4().hex[:8]}"
    with store() as uri:
        _, secret, runs = await setup(uri, db_name)
        with server(uri, db_name) as (url, pid):
            proc = psutil.Process(pid)
            if rate is None:
                async with httpx.AsyncClient(
                    base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
                ) as http:

                    async def one(i: int, _: int) -> bool:
                        v = {"i": {"runId": runs[i % len(runs)], "key": "peak", "score": 1}}
                        r = await http.post("/graphql", json={"query": CREATE, "variables": v})
                        return r.status_code == 200

                    n, _, _, took = await drive(16, 10, one)
                rate = n / took / 2
            warmup = min(60.0, minutes * 60 / 5)
            await paced(url, secret, runs, rate, warmup)
            rss_start = proc.memory_info().rss
            sent, errors = await paced(url, secret, runs, rate, minutes * 60 - warmup)
            rss_end = proc.memory_info().rss
    growth = (rss_end - rss_start) / rss_start * 100
    total_errors = sum(errors.values())
    print(
        f"{'rate req/s':>11}{'minutes':>9}{'requests':>10}{'errors':>8}"
        f"{'RSS start MB':>14}{'RSS end MB':>12}{'growth %':>10}"
    )
    print(
        f"{rate:>11.1f}{minutes:>9.1f}{sent:>10}{total_errors:>8}{rss_start / 2**20:>14.1f}"
        f"{rss_end / 2**20:>12.1f}{growth:>10.1f}"
    )
    if errors:
        print("errors:", ", ".join(f"{kind} x{n}" for kind, n in errors.most_common()))
    print("PASS" if total_errors == 0 and growth < 10 else "FAIL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=None)
    args = parser.parse_args()
    asyncio.run(main_async(args.minutes, args.rate))


if __name__ == "__main__":
    main()
