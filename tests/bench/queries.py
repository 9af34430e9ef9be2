"""The dashboard's queries at growing data sizes: p50/p95 per query, per size.

Seeds one project in steps (10k, then up to 100k, then up to 1M feedback records
by default) spread over the last 90 days: a boolean ``thumbs`` key (70%) and a
continuous ``quality`` key with full-precision floats (30%, the worst case for
histograms), one run per ten records (written with the real run ingestion, 500 a
call: a model of 6, up to two of 8 tags, a session of 4), a tenth of them with a
comment, from 300 end users (a fifth anonymous) and three sources. Feedback is
written in bulk (``insert_many`` of 5,000 documents shaped as the write path
stores them); after each step the real rebuild computes the rollups and grouped
rollups from it, as the write path would have, and each query is timed end to end
through the ASGI app (no network):

- the four requests the dashboard page makes, with their text read from
  ``app/dashboard/assets/dashboard.js`` so the benchmark measures what the page
  sends: the key list, the board (summary and series) and the worst runs, for
  the page's default 30-day window and for the last 24 hours, and one run's
  feedback; worst runs also over a rolling 24 hours (``now - 24h``, not aligned
  to an hour);
- a 90-day daily series of the continuous key; with p50/p90 (read from the
  rollups' histograms); and with p50/p90 over a window not aligned to hours
  (its partial first hour is read raw);
- the dashboard's breakdowns (``BREAKDOWN_QUERY``) by each grouping it offers
  (model, tag, user), over 30 days and over the last 24 hours.

    .venv/bin/python -m tests.bench.queries                          # 10k, 100k, 1M
    .venv/bin/python -m tests.bench.queries --sizes 10000,100000 --repeat 30
    .venv/bin/python -m tests.bench.queries --only '^by |board'      # some requests

Uses MONGODB_URI when set, else starts the embedded store in a temporary directory,
or in ``--data-dir DIR``, kept afterwards: a later run with the same directory (and
code changed meanwhile) reuses the records seeded there and seeds only what its
sizes add; ``--seed-only`` seeds without rebuilding or timing, e.g. the slow 1M
seeding ahead of a measurement (windows are relative to the time of seeding: a
measurement hours later finds its last hours empty).
Seeding 1M records into the embedded store takes about 20 minutes: it maintains
the feedback collection's eleven indexes at about 1 ms per document, bulk or not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from tqdm import tqdm

from app.domain.analytics import windows
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.auth import create_key
from app.domain.feedback_keys import KeyConfig, register_key
from app.domain.runs import RunWrite, ingest_runs
from app.main import create_app
from app.settings import Settings
from app.store import Stores
from app.store.indexes import ensure_indexes
from tests.bench.common import percentile, store

DASHBOARD_JS = Path(__file__).parents[2] / "app" / "dashboard" / "assets" / "dashboard.js"
DAYS = 90
KEPT_DB = "plaudit_bench_queries"
SERIES = """query($after: DateTime!) {
  feedbackStats(filter: {keys: ["quality"], after: $after},
                groupBy: [{dimension: TIME, bucket: DAY}]) {
    source groups { time count mean min max stddev positiveShare negativeShare }
  }
}"""
WITH_PERCENTILES = SERIES.replace("negativeShare }", "negativeShare p50 p90 }")


def dashboard_queries() -> dict[str, str]:
    """The GraphQL texts the dashboard page sends, by their constant's name."""
    source = DASHBOARD_JS.read_text()
    # String constants the query templates interpolate (`${NUMBERS}`).
    strings = dict(re.findall(r'^const (\w+) = "(.*?)";$', source, re.M))
    found = {
        name: re.sub(r"\$\{(\w+)\}", lambda m: strings[m.group(1)], text)
        for name, text in re.findall(r"const (\w+_QUERY) = `(.*?)`;", source, re.S)
    }
    for name in ("KEYS_QUERY", "BOARD_QUERY", "WORST_QUERY", "RUN_QUERY", "BREAKDOWN_QUERY"):
        if name not in found:
            raise SystemExit(f"{DASHBOARD_JS} no longer defines {name}; update this benchmark")
    return found


@dataclass
class Step:
    size: int
    seed_s: float
    rebuild_s: float
    timings: dict[str, list[float]]
    load: float = 0.0  # the 1-minute load average (the higher of before and after)


MODELS = [f"model-{i}" for i in range(6)]
TAGS = [f"tag-{i}" for i in range(8)]
SESSIONS = [f"session-{i}" for i in range(4)]
USERS = [f"user-{i}" for i in range(300)]
SOURCES = ["api", "widget", "human"]


class Seeder:
    """Adds runs (through the run ingestion) and feedback records (straight into
    the collection, in bulk) to one project."""

    def __init__(self, stores: Stores, project_id: str) -> None:
        self.stores = stores
        self.project_id = project_id
        self.rng = random.Random(7)
        self.runs: list[str] = []
        self.count = 0

    async def add_runs(self, count: int, now: datetime) -> None:
        ids = [str(uuid.uuid4()) for _ in range(count)]
        for at in range(0, count, 500):
            writes = [
                RunWrite(
                    id=i,
                    name="bench",
                    model=self.rng.choice(MODELS),
                    tags=self.rng.sample(TAGS, self.rng.randrange(3)),
                    session_id=self.rng.choice(SESSIONS),
                    start_time=now - timedelta(days=DAYS),
                )
                for i in ids[at : at + 500]
            ]
            await ingest_runs(self.stores, self.project_id, writes)
        self.runs.extend(ids)

    def record(self, now: datetime) -> dict[str, Any]:
        at = now - timedelta(seconds=self.rng.random() * DAYS * 86400)
        at = at.replace(microsecond=at.microsecond - at.microsecond % 1000)
        thumbs = self.rng.random() < 0.7
        score: float = (1.0 if self.rng.random() < 0.8 else 0.0) if thumbs else self.rng.random()
        content = {
            "score": score,
            "value": None,
            "comment": "a comment" if self.rng.random() < 0.1 else None,
            "correction": None,
            "retracted": False,
        }
        return {
            "_id": str(uuid.uuid4()),
            "project_id": self.project_id,
            "run_id": self.rng.choice(self.runs),
            "key": "thumbs" if thumbs else "quality",
            **content,
            "source_type": self.rng.choice(SOURCES),
            "source_info": None,
            "source_run_id": None,
            "user_id": self.rng.choice(USERS) if self.rng.random() < 0.8 else None,
            "actor": None,
            "deleted": False,
            "created_at": at,
            "modified_at": at,
            "extra": {},
            "history": [
                {"at": at, "change": "created", "by": "bench", "via": "graphql", "old": None}
                | {"new": content}
            ],
        }

    async def resume(self) -> None:
        """Take up the records an earlier run seeded into this project."""
        runs = self.stores.db["runs"].find({"project_id": self.project_id}, {"_id": 1})
        self.runs = sorted([doc["_id"] async for doc in runs])
        self.count = await self.stores.db["feedback"].count_documents(
            {"project_id": self.project_id}
        )
        # Not the same records as an unbroken run would add next, but the same shape.
        self.rng = random.Random(self.count)

    async def grow_to(self, size: int) -> float:
        started = time.perf_counter()
        now = datetime.now(UTC)
        adding = size - self.count
        await self.add_runs(max(1, adding // 10), now)
        with tqdm(total=adding, desc=f"seed to {size:,}", unit="rec") as progress:
            while self.count < size:
                batch = [self.record(now) for _ in range(min(5000, size - self.count))]
                await self.stores.db["feedback"].insert_many(batch, ordered=False)
                self.count += len(batch)
                progress.update(len(batch))
        return time.perf_counter() - started


def cases(runs: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    texts = dashboard_queries()
    now = datetime.now(UTC)
    month = (windows.floor(now, "day") - timedelta(days=29)).isoformat()
    day = (windows.floor(now, "hour") - timedelta(hours=23)).isoformat()
    quarter = (windows.floor(now, "day") - timedelta(days=DAYS - 1)).isoformat()
    thumbs = {"keys": ["thumbs"]}
    return {
        "dashboard: keys": (texts["KEYS_QUERY"], {"after": month}),
        "board 30d": (texts["BOARD_QUERY"], {"filter": thumbs | {"after": month}, "bucket": "DAY"}),
        "worst runs 30d": (texts["WORST_QUERY"], thumbs | {"after": month}),
        "board 24h": (texts["BOARD_QUERY"], {"filter": thumbs | {"after": day}, "bucket": "HOUR"}),
        "worst runs 24h": (texts["WORST_QUERY"], thumbs | {"after": day}),
        # A rolling window: starts mid-hour, so its first partial hour is read raw.
        "worst runs now-24h": (
            texts["WORST_QUERY"],
            thumbs | {"after": (now - timedelta(hours=24)).isoformat()},
        ),
        "run feedback": (texts["RUN_QUERY"], {"runId": runs[len(runs) // 2]}),
        "90d series": (SERIES, {"after": quarter}),
        "+ p50/p90": (WITH_PERCENTILES, {"after": quarter}),
        "+ unaligned": (WITH_PERCENTILES, {"after": (now - timedelta(days=DAYS)).isoformat()}),
        **grouped_cases(texts["BREAKDOWN_QUERY"], thumbs, month, day),
    }


def grouped_cases(
    text: str, keys: dict[str, Any], month: str, day: str
) -> dict[str, tuple[str, dict[str, Any]]]:
    """The dashboard's breakdown by each grouping it offers, over 30 days and 24 hours."""
    return {
        f"by {by.lower()} {span}": (text, {"filter": keys | {"after": after}, "by": by})
        for span, after in (("30d", month), ("24h", day))
        for by in ("MODEL", "TAG", "USER")
    }


async def measure(
    settings: Settings, secret: str, runs: list[str], repeat: int, only: str = ""
) -> dict[str, list[float]]:
    app = create_app(settings)
    timings: dict[str, list[float]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers, timeout=600
        ) as client:
            chosen = {n: c for n, c in cases(runs).items() if re.search(only, n)}
            for name, (query, variables) in tqdm(chosen.items(), desc="queries", leave=False):
                timings[name] = []
                for i in range(repeat + 2):
                    started = time.perf_counter()
                    response = await client.post(
                        "/graphql", json={"query": query, "variables": variables}
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    body = response.json()
                    if response.status_code != 200 or "errors" in body:
                        raise SystemExit(f"{name}: {response.status_code} {body}")
                    if i >= 2:  # the first requests warm caches
                        timings[name].append(elapsed)
    return timings


async def run(
    uri: str,
    sizes: list[int],
    repeat: int,
    only: str = "",
    *,
    keep: bool = False,
    seed_only: bool = False,
) -> list[Step]:
    # Kept data lives under a fixed name, so that the next run finds it.
    db_name = KEPT_DB if keep else f"plaudit_bench_queries_{uuid.uuid4().hex[:6]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    steps: list[Step] = []
    try:
        stores = Stores.open(client[db_name])
        await ensure_indexes(stores.db)
        project = await stores.projects.by_name("bench-queries")
        if project is None:
            project = await stores.projects.create("bench-queries")
            await register_key(stores, project.id, "thumbs", KeyConfig(kind="boolean"))
            quality = KeyConfig(kind="continuous", min=0, max=1)
            await register_key(stores, project.id, "quality", quality)
        _, secret = await create_key(stores, project.id, "read")
        settings = Settings(mongodb_uri=uri, db_name=db_name, secret_keys=("bench-" + "x" * 40,))
        seeder = Seeder(stores, project.id)
        await seeder.resume()
        if seeder.count:
            print(f"reusing {seeder.count:,} records and {len(seeder.runs):,} runs in {db_name}")
        for size in sorted(sizes):
            if size < seeder.count:
                print(f"skipping {size:,}: {seeder.count:,} records are there already")
                continue
            seed_s = await seeder.grow_to(size)
            if seed_only:
                print(f"seeded to {size:,} records in {seed_s:.0f} s")
                continue
            started = time.perf_counter()
            await rebuild_rollups(stores, project.id)
            rebuild_s = time.perf_counter() - started
            load = os.getloadavg()[0]
            timings = await measure(settings, secret, seeder.runs, repeat, only)
            load = max(load, os.getloadavg()[0])
            steps.append(Step(size, seed_s, rebuild_s, timings, load))
            report(steps)  # a table after every step: the large sizes take long
        if not keep:
            try:
                await client.drop_database(db_name)
            except PyMongoError as exc:  # the embedded store's files go with its directory
                print(f"could not drop {db_name}: {exc}")
    finally:
        await client.close()
    return steps


def report(steps: list[Step]) -> None:
    names = list(steps[0].timings)
    sizes = "".join(f"{s.size:>22,}" for s in steps)
    print(f"\n{'p50 / p95 ms':<18}{sizes}")
    print("-" * (18 + 22 * len(steps)))
    for name in names:
        cells = "".join(
            f"{statistics.median(s.timings[name]):>13.1f} /{percentile(s.timings[name], 95):>7.1f}"
            for s in steps
        )
        print(f"{name:<18}{cells}")
    print(f"{'seed s':<18}" + "".join(f"{s.seed_s:>22.0f}" for s in steps))
    print(f"{'rollup rebuild s':<18}" + "".join(f"{s.rebuild_s:>22.1f}" for s in steps))
    print(f"{'load average':<18}" + "".join(f"{s.load:>22.1f}" for s in steps))
    if len(steps) > 1:
        small, large = steps[0], steps[-1]
        print(f"\np50 ratio {large.size:,} / {small.size:,} records:")
        for name in names:
            ratio = statistics.median(large.timings[name]) / statistics.median(small.timings[name])
            print(f"  {name:<18}{ratio:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="record counts")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", default="", help="time only the requests matching this regex")
    parser.add_argument(
        "--data-dir", type=Path, help="keep the embedded store here; reuse what it holds"
    )
    parser.add_argument("--seed-only", action="store_true", help="seed, do not time")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    keep = args.data_dir is not None
    with store(args.data_dir) as uri:
        asyncio.run(run(uri, sizes, args.repeat, args.only, keep=keep, seed_only=args.seed_only))


if __name__ == "__main__":
    main()
