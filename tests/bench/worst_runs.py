"""Worst runs at growing data sizes, seeded fast: p50/p95 per window, per size, and
where a 30-day read spends its time.

Seeding a million feedback documents takes about 20 minutes on the embedded store
(tests/bench/queries.py), but worst runs read the runs' tallies, not the feedback.
This benchmark synthesizes feedback-shaped records in memory (the shape of
tests/bench/queries.py: a boolean ``thumbs`` key, 70%, four in five up, and a
continuous ``quality`` key in [0, 1], 30%, over the last 90 days) and turns them
into tally updates with the write path's own code (app/domain/analytics/tallies.py,
applied in bulk like a flush). Only the records worst runs read raw are inserted as
feedback documents: those in the partial hour a rolling window starts in.

Two shapes of runs (``--shape``):

- ``local``: each run gets 1-5 records within a few hours of a random time in the
  90 days (feedback arrives soon after the run);
- ``spread``: as tests/bench/queries.py seeds them, one run per ten records and each
  record on any run, at any time in the 90 days (every run straddles every window).

    .venv/bin/python -m tests.bench.worst_runs                       # 10k, 100k, 1M
    .venv/bin/python -m tests.bench.worst_runs --sizes 100000 --shape spread

Uses MONGODB_URI when set, else starts the embedded store in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import bson
from pymongo import AsyncMongoClient

import app.domain.analytics.worst_runs as worst_runs_module
from app.domain.analytics import windows
from app.domain.analytics.contributions import Contribution
from app.domain.analytics.rules import load_rules
from app.domain.analytics.tallies import add_change, run_change
from app.domain.analytics.worst_runs import worst_runs
from app.domain.feedback_keys import KeyConfig, register_key
from app.store import Stores
from app.store.bulk_upserts import find_buckets
from app.store.indexes import ensure_indexes
from app.store.run_days import RunDays, RunDayStore, from_tallies
from app.store.run_tallies import TallyDelta, TallyId, _from_doc
from tests.bench.common import percentile, store

DAYS = 90
KEYS = ["thumbs", "quality"]


@dataclass
class Synthetic:
    run_id: str
    key: str
    score: float | bool
    at: datetime


@dataclass
class Step:
    size: int
    seed_s: float
    timings: dict[str, list[float]]
    parts: dict[str, float] = field(default_factory=dict)
    load: float = 0.0


class Generator:
    def __init__(self, shape: str, now: datetime) -> None:
        self.shape = shape
        self.now = now
        self.rng = random.Random(19)
        self.runs: list[str] = []
        self.count = 0

    def _time(self, at: datetime) -> datetime:
        at = min(at, self.now - timedelta(seconds=1))
        return at.replace(microsecond=at.microsecond - at.microsecond % 1000)

    def _record(self, run_id: str, at: datetime) -> Synthetic:
        rng = self.rng
        if rng.random() < 0.7:
            return Synthetic(run_id, "thumbs", rng.random() < 0.8, at)
        return Synthetic(run_id, "quality", rng.random(), at)

    def grow(self, size: int) -> list[Synthetic]:
        out: list[Synthetic] = []
        rng = self.rng
        span = DAYS * 86400
        if self.shape == "spread":
            self.runs += [uuid.uuid4().hex for _ in range((size - self.count) // 10 or 1)]
            while self.count + len(out) < size:
                at = self.now - timedelta(seconds=rng.random() * span)
                out.append(self._record(rng.choice(self.runs), self._time(at)))
        else:
            while self.count + len(out) < size:
                run_id = uuid.uuid4().hex
                self.runs.append(run_id)
                start = self.now - timedelta(seconds=rng.random() * span)
                for _ in range(min(rng.randint(1, 5), size - self.count - len(out))):
                    at = start + timedelta(seconds=rng.random() * 4 * 3600)
                    out.append(self._record(run_id, self._time(at)))
        self.count += len(out)
        return out


def feedback_doc(project_id: str, r: Synthetic) -> dict[str, Any]:
    content = {
        "score": r.score,
        "value": None,
        "comment": None,
        "correction": None,
        "retracted": False,
    }
    return {
        "_id": str(uuid.uuid4()),
        "project_id": project_id,
        "run_id": r.run_id,
        "key": r.key,
        **content,
        "source_type": "api",
        "source_info": None,
        "source_run_id": None,
        "user_id": None,
        "actor": None,
        "deleted": False,
        "created_at": r.at,
        "modified_at": r.at,
        "extra": {},
        "history": [],
    }


class Seeder:
    """Turns records into tally updates with the write path's code
    (app/domain/analytics/tallies.py), keeps them summed over the steps, and
    writes them as a rebuild does (every document set at once: ``$inc`` into
    documents of a thousand runs is far slower on the embedded store)."""

    def __init__(self, stores: Stores, project_id: str) -> None:
        self.stores = stores
        self.project_id = project_id
        self.deltas: dict[TallyId, TallyDelta] = {}

    async def add(self, records: list[Synthetic], raw_since: datetime) -> None:
        """Count ``records``, rewrite the tallies and run days, and insert the
        records from ``raw_since`` on as feedback documents."""
        rules = await load_rules(self.stores, self.project_id, KEYS)
        for r in records:
            change = run_change(rules[r.key], None, Contribution(r.score, False), r.at)
            if change is not None:
                add_change(self.deltas, self.project_id, r.key, r.run_id, r.at, change)
        stamp = uuid.uuid4().hex
        now = datetime.now(UTC)
        await self.stores.run_days.replace_scope(
            self.project_id, None, from_tallies(self.deltas), keys=KEYS, stamp=stamp, started=now
        )
        await self.stores.run_tallies.replace_scope(
            self.project_id, None, self.deltas, stamp=stamp, keep_from=now + timedelta(days=1)
        )
        raw = [feedback_doc(self.project_id, r) for r in records if r.at >= raw_since]
        for at in range(0, len(raw), 5000):
            await self.stores.db["feedback"].insert_many(raw[at : at + 5000], ordered=False)


def windows_of(now: datetime) -> dict[str, tuple[datetime, None]]:
    return {
        "30d": (windows.floor(now, "day") - timedelta(days=29), None),
        "24h": (windows.floor(now, "hour") - timedelta(hours=23), None),
        "now-24h": (now - timedelta(hours=24), None),
    }


READ = [0]  # run days documents read by counts


def count_read() -> None:
    tier = RunDayStore.tier

    async def counting(self: RunDayStore, *args: Any) -> list[RunDays]:
        found = await tier(self, *args)
        READ[0] += len(found)
        return found

    RunDayStore.tier = counting  # type: ignore[method-assign, assignment]


async def measure(
    stores: Stores, project_id: str, now: datetime, repeat: int
) -> dict[str, list[float]]:
    """Each window read through the run days and (as before them) the run tallies;
    both must give the same runs."""
    timings: dict[str, list[float]] = {}
    for name, (since, until) in windows_of(now).items():
        for keys in (["thumbs"], None):
            answers = []
            for path in ("run days", "tallies"):
                label = f"{name} {'thumbs' if keys else 'all keys'}, {path}"
                timings[label] = []
                with tallies_only(path == "tallies"):
                    for i in range(repeat + 1):
                        started = time.perf_counter()
                        found = await worst_runs(
                            stores, project_id, keys=keys, since=since, until=until, comments=2
                        )
                        if i:
                            timings[label].append((time.perf_counter() - started) * 1000)
                answers.append([(w.run_id, w.negative, w.positive, w.scored) for w in found])
                if path == "run days":
                    timings[f"  run days read, {label}"] = [READ[0] / (repeat + 1)]
                READ[0] = 0
            if answers[0] != answers[1]:
                raise SystemExit(f"{name} {keys}: run days and tallies disagree")
    return timings


def tallies_only(on: bool) -> AbstractContextManager[Any]:
    """Worst runs read as before run days (the run tallies only)."""

    async def none(*args: Any, **kwargs: Any) -> None:
        return None

    return patch.object(worst_runs_module, "ranked_by_run_days", none) if on else nullcontext()


async def breakdown(stores: Stores, project_id: str, now: datetime) -> dict[str, float]:
    """Where a 30-day read of the thumbs tallies spends its time (median of 5, ms)."""
    since = windows.floor(now, "day") - timedelta(days=29)
    until = windows.floor(now, "day")
    collection = stores.run_tallies.collection
    span = {"$gte": since, "$lt": until}
    query = {"project_id": project_id, "key": "thumbs", "g": "day", "t": span}
    parts: dict[str, list[float]] = {}

    def lap(name: str, started: float) -> float:
        parts.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return time.perf_counter()

    for _ in range(5):
        started = time.perf_counter()
        batches: list[Any] = await collection.find_raw_batches(query).to_list()
        started = lap("server + transfer (raw batches)", started)
        docs = [d for b in batches for d in bson.decode_all(b)]
        started = lap("BSON decoding", started)
        tallies = [_from_doc(d) for d in docs]
        started = lap("to tallies", started)
        sums: dict[str, list[Any]] = {}
        for tally in tallies:
            for run_id, (high, low, scored, last) in tally.runs.items():
                s = sums.get(run_id)
                if s is None:
                    sums[run_id] = [low, high, scored, last]
                else:
                    s[0] += low
                    s[1] += high
                    s[2] += scored
                    if last is not None and last > s[3]:
                        s[3] = last
        started = lap("merge per run", started)
        await find_buckets(collection, project_id, ["thumbs"], "day", since, until)
        lap("find_buckets (decoded)", started)
        parts.setdefault("entries", []).append(sum(len(t.runs) for t in tallies))
        parts.setdefault("documents", []).append(len(docs))
    return {name: statistics.median(values) for name, values in parts.items()}


async def run(uri: str, sizes: list[int], repeat: int, shape: str) -> list[Step]:
    db_name = f"plaudit_bench_worst_{uuid.uuid4().hex[:6]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    steps: list[Step] = []
    now = datetime.now(UTC)
    try:
        stores = Stores.open(client[db_name])
        await ensure_indexes(stores.db)
        project = await stores.projects.create("bench-worst")
        await register_key(stores, project.id, "thumbs", KeyConfig(kind="boolean"))
        await register_key(
            stores, project.id, "quality", KeyConfig(kind="continuous", min=0, max=1)
        )
        generator = Generator(shape, now)
        seeder = Seeder(stores, project.id)
        raw_since = windows.floor(now - timedelta(hours=24), "hour")
        for size in sorted(sizes):
            started = time.perf_counter()
            await seeder.add(generator.grow(size), raw_since)
            seed_s = time.perf_counter() - started
            load = os.getloadavg()[0]
            timings = await measure(stores, project.id, now, repeat)
            parts = await breakdown(stores, project.id, now)
            load = max(load, os.getloadavg()[0])
            steps.append(Step(size, seed_s, timings, parts, load))
            report(steps)
        await client.drop_database(db_name)
    finally:
        await client.close()
    return steps


def report(steps: list[Step]) -> None:
    names = list(steps[0].timings)
    sizes = "".join(f"{s.size:>20,}" for s in steps)
    print(f"\n{'p50 / p95 ms':<20}{sizes}")
    print("-" * (20 + 20 * len(steps)))
    for name in names:
        cells = "".join(
            f"{statistics.median(s.timings[name]):>11.1f} /{percentile(s.timings[name], 95):>7.1f}"
            for s in steps
        )
        print(f"{name:<20}{cells}")
    print(f"{'seed s':<20}" + "".join(f"{s.seed_s:>20.1f}" for s in steps))
    print(f"{'load average':<20}" + "".join(f"{s.load:>20.2f}" for s in steps))
    print("\n30-day thumbs day tallies, median ms:")
    for name in steps[0].parts:
        print(f"  {name:<32}" + "".join(f"{s.parts[name]:>12.1f}" for s in steps))
    if len(steps) > 1:
        small, large = steps[0], steps[-1]
        print(f"\np50 ratio {large.size:,} / {small.size:,} records:")
        for name in names:
            base = statistics.median(small.timings[name])
            if base:
                ratio = statistics.median(large.timings[name]) / base
                print(f"  {name:<20}{ratio:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="record counts")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--shape", choices=("local", "spread"), default="local")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    count_read()
    with store() as uri:
        asyncio.run(run(uri, sizes, args.repeat, args.shape))


if __name__ == "__main__":
    main()
