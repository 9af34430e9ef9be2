"""Benchmark: a 90-day daily time series for one key, at two data sizes.

Seeds N feedback records spread over the last 90 days (continuous scores with full
float precision, the worst case for histograms), builds the rollups with the real
rebuild code, then times the GraphQL request a dashboard makes, end to end through
the ASGI app (no network), at each size. The claim under test: the cost does not
grow with N (ratio of the large to the small size below 1.5).

    .venv/bin/python tests/bench/bench_stats.py                 # 10k and 1M
    .venv/bin/python tests/bench/bench_stats.py --sizes 10000,100000 --repeat 30

Uses MONGODB_URI when set, else starts the embedded store in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from tqdm import tqdm

from app.analytics import windows
from app.analytics.rebuild import rebuild_rollups
from app.domain.auth import create_key
from app.domain.feedback_keys import KeyConfig, register_key
from app.embedded import EmbeddedMongo
from app.main import create_app
from app.settings import Settings
from app.store import Stores
from app.store.indexes import ensure_indexes

KEY = "quality"
CHART = """query($after: DateTime!) {
  feedbackStats(filter: {keys: ["quality"], after: $after},
                groupBy: [{dimension: TIME, bucket: DAY}]) {
    source groups { time count mean min max stddev positiveShare negativeShare }
  }
}"""
WITH_PERCENTILES = """query($after: DateTime!) {
  feedbackStats(filter: {keys: ["quality"], after: $after},
                groupBy: [{dimension: TIME, bucket: DAY}]) {
    source groups { time count mean min max stddev positiveShare negativeShare p50 p90 }
  }
}"""


@dataclass
class Result:
    size: int
    seed_s: float
    rebuild_s: float
    timings: dict[str, list[float]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def seed(stores: Stores, size: int, days: int) -> tuple[str, str, float]:
    project = await stores.projects.create(f"bench-{size}")
    _, secret = await create_key(stores, project.id, "read")
    await register_key(stores, project.id, KEY, KeyConfig(kind="continuous", min=0, max=1))
    rng = random.Random(size)
    now = datetime.now(UTC)
    span = days * 86400
    runs = [str(uuid.uuid4()) for _ in range(max(1, size // 10))]
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with tqdm(total=size, desc=f"seed {size:,}", unit="rec") as progress:
        for _ in range(size):
            at = now - timedelta(seconds=rng.random() * span)
            at = at.replace(microsecond=at.microsecond - at.microsecond % 1000)
            batch.append(
                {
                    "_id": str(uuid.uuid4()),
                    "project_id": project.id,
                    "run_id": rng.choice(runs),
                    "key": KEY,
                    "score": rng.random(),
                    "value": None,
                    "comment": "a comment" if rng.random() < 0.1 else None,
                    "correction": None,
                    "source_type": "api",
                    "source_info": None,
                    "source_run_id": None,
                    "user_id": None,
                    "actor": None,
                    "retracted": False,
                    "deleted": False,
                    "created_at": at,
                    "modified_at": at,
                    "extra": {},
                }
            )
            if len(batch) == 5000:
                await stores.db["feedback"].insert_many(batch, ordered=False)
                progress.update(len(batch))
                batch = []
        if batch:
            await stores.db["feedback"].insert_many(batch, ordered=False)
            progress.update(len(batch))
    return project.id, secret, time.perf_counter() - started


async def measure(
    settings: Settings, secret: str, repeat: int, days: int
) -> dict[str, list[float]]:
    app = create_app(settings)
    now = datetime.now(UTC)
    aligned = windows.floor(now, "day") - timedelta(days=days - 1)
    unaligned = now - timedelta(days=days)
    cases = {
        "daily series": (CHART, aligned),
        "+ p50/p90": (WITH_PERCENTILES, aligned),
        "unaligned window": (CHART, unaligned),
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = {"Authorization": f"Bearer {secret}"}
            for name, (query, after) in cases.items():
                body = {"query": query, "variables": {"after": after.isoformat()}}
                for i in range(repeat + 3):
                    started = time.perf_counter()
                    response = await client.post("/graphql", json=body, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    data = response.json()
                    assert "errors" not in data, data
                    stats = data["data"]["feedbackStats"]
                    assert stats["source"] == "ROLLUPS"
                    assert len(stats["groups"]) >= days
                    if i >= 3:  # the first requests warm caches
                        timings[name].append(elapsed)
    return timings


async def run_size(uri: str, size: int, days: int, repeat: int) -> Result:
    db_name = f"plaudit_bench_{size}_{uuid.uuid4().hex[:6]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        stores = Stores.open(client[db_name])
        await ensure_indexes(stores.db)
        project_id, secret, seed_s = await seed(stores, size, days)
        started = time.perf_counter()
        await rebuild_rollups(stores, project_id)
        rebuild_s = time.perf_counter() - started
        settings = Settings(mongodb_uri=uri, db_name=db_name, secret_keys=("bench-" + "x" * 40,))
        timings = await measure(settings, secret, repeat, days)
        await client.drop_database(db_name)
        return Result(size, seed_s, rebuild_s, timings)
    finally:
        await client.close()


def report(results: list[Result]) -> None:
    names = list(results[0].timings)
    print()
    print(
        f"{'records':>10} | {'seed s':>7} | {'rebuild s':>9} | "
        + " | ".join(f"{n + ' p50/p95 ms':>30}" for n in names)
    )
    print("-" * (36 + 33 * len(names)))
    for r in results:
        cells = [
            f"{statistics.median(r.timings[n]):>14.1f} / {percentile(r.timings[n], 0.95):<13.1f}"
            for n in names
        ]
        print(f"{r.size:>10,} | {r.seed_s:>7.1f} | {r.rebuild_s:>9.1f} | " + " | ".join(cells))
    if len(results) > 1:
        small, large = results[0], results[-1]
        ratios = [
            f"{n}: {statistics.median(large.timings[n]) / statistics.median(small.timings[n]):.2f}"
            for n in names
        ]
        print(f"\np50 ratio {large.size:,} / {small.size:,} records -> " + ", ".join(ratios))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="comma-separated record counts")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    uri = os.environ.get("MONGODB_URI")
    if uri:
        results = [await run_size(uri, n, args.days, args.repeat) for n in sizes]
    else:
        with tempfile.TemporaryDirectory() as tmp, EmbeddedMongo(Path(tmp)) as embedded:
            results = [await run_size(embedded.uri, n, args.days, args.repeat) for n in sizes]
    report(results)


if __name__ == "__main__":
    asyncio.run(main())
