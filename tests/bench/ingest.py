"""Feedback ingest throughput: the service against the raw driver ceiling.

    .venv/bin/python -m tests.bench.ingest [--seconds 10] [--concurrency 1,4,16,64]
    .venv/bin/python -m tests.bench.ingest --concurrency 16 --profile /tmp/prof

``--profile DIR`` samples the server process with py-spy during each of the
service's phases and prints where its CPU went (the functions with the most
samples, on top of the stack and anywhere in it); the raw stacks are kept in DIR
(flamegraph.pl or speedscope read them).

The server runs as its own process (`plaudit serve`); this process generates the
load. The ceiling is the same number of acknowledged writes (one insert per
feedback, the same write concern) straight through AsyncMongoClient to the same
store, so the ratio says what the service costs on top of the database.

Widget posts come in two kinds: a first vote through a new token (the record is
inserted) and a changed vote through a token used before (the record is read and
updated, its history growing).

A second ceiling, the store's own limit, sends the same documents ``concurrency``
at a time in one ``insert_many``: what the service's group commit (concurrent
writes coalesced into one bulk command) can at best reach."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from app.domain.auth import create_key
from app.domain.validation import MAX_BATCH
from app.store import Stores
from app.store.client import make_client
from app.store.indexes import INDEXES, ensure_indexes
from tests.bench.common import percentile, server, store

FIRST_VOTE = "widget post, first vote"
CHANGED_VOTE = "widget post, changed vote"
BATCH_CEILING = "driver insert_many ceiling"
CREATE = "mutation($i: FeedbackInput!) { createFeedback(input: $i) { id } }"


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float | None = None
    peak_rss_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def server_cpu(proc: psutil.Process) -> float:
    """CPU seconds (user + system) of the server and its worker processes."""
    return sum(sum(p.cpu_times()[:2]) for p in [proc, *proc.children(recursive=True)])


async def drive(
    concurrency: int, seconds: float, one: Callable[[int, int], Awaitable[bool]]
) -> tuple[int, int, list[float], float]:
    """``concurrency`` workers calling ``one(request number, worker number)`` in a
    loop for ``seconds``; (requests, errors, latencies in ms, seconds taken)."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    counter = 0

    async def worker(w: int) -> None:
        nonlocal errors, counter
        while time.perf_counter() < stop:
            counter += 1
            started = time.perf_counter()
            ok = await one(counter, w)
            latencies.append((time.perf_counter() - started) * 1000)
            if not ok:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return len(latencies), errors, latencies, time.perf_counter() - began


@asynccontextmanager
async def http_clients(
    url: str, count: int, headers: dict[str, str] | None = None
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client, with one connection, per worker. A client shared by many
    workers does bookkeeping per pooled connection on every request: at
    concurrency 64 that made this process (at 100% CPU) the bottleneck, not the
    server."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30)
            )
            for _ in range(count)
        ]


async def setup(uri: str, db_name: str) -> tuple[str, str, list[str]]:
    client = make_client(uri)
    stores = Stores.open(client[db_name])
    await ensure_indexes(stores.db)
    project = await stores.projects.create(f"bench-{uuid.uuid4().hex[:6]}")
    _, secret = await create_key(stores, project.id, "ingest")
    from app.domain.runs import RunWrite, ingest_runs

    runs = [RunWrite(id=str(uuid.uuid4()), name="bench") for _ in range(200)]
    await ingest_runs(stores, project.id, runs)
    await client.close()
    return project.id, secret, [r.id for r in runs]


async def ceiling(
    uri: str, db_name: str, project_id: str, runs: list[str], c: int, s: float
) -> Result:
    client = make_client(uri)
    collection = client[db_name]["feedback_ceiling"]
    # The same indexes as the feedback collection: the ceiling is the same write.
    await ensure_indexes(
        client[db_name],
        [replace(i, collection="feedback_ceiling") for i in INDEXES if i.collection == "feedback"],
    )

    async def one(i: int, _: int) -> bool:
        await collection.insert_one(
            {
                "_id": str(uuid.uuid4()),
                "project_id": project_id,
                "run_id": runs[i % len(runs)],
                "key": "thumbs",
                "score": 1,
                "actor": uuid.uuid4().hex,
                "deleted": False,
                "created_at": datetime.now(UTC),
            }
        )
        return True

    n, errors, lat, took = await drive(c, s, one)
    await client.close()
    return Result("driver ceiling", c, n, errors, took, lat)


async def batch_ceiling(
    uri: str, db_name: str, project_id: str, runs: list[str], c: int, s: float
) -> Result:
    """The store's own limit: the same documents sent ``c`` at a time by one
    ``insert_many`` (what group commit can at best reach); a request is a document."""
    client = make_client(uri)
    collection = client[db_name]["feedback_ceiling"]

    async def one(i: int, _: int) -> bool:
        await collection.insert_many(
            [
                {
                    "_id": str(uuid.uuid4()),
                    "project_id": project_id,
                    "run_id": runs[(i * c + n) % len(runs)],
                    "key": "thumbs",
                    "score": 1,
                    "actor": uuid.uuid4().hex,
                    "deleted": False,
                    "created_at": datetime.now(UTC),
                }
                for n in range(c)
            ],
            ordered=False,
        )
        return True

    n, errors, lat, took = await drive(1, s, one)
    await client.close()
    return Result(BATCH_CEILING, c, n * c, errors * c, took, lat)


async def graphql(url: str, pid: int, secret: str, runs: list[str], c: int, s: float) -> Result:
    proc = psutil.Process(pid)
    async with http_clients(url, c, {"Authorization": f"Bearer {secret}"}) as clients:

        async def one(i: int, w: int) -> bool:
            variables = {
                "i": {
                    "runId": runs[i % len(runs)],
                    "key": "thumbs",
                    "score": i % 2,
                    "userId": uuid.uuid4().hex,
                }
            }
            try:
                r = await clients[w].post(
                    "/graphql", json={"query": CREATE, "variables": variables}
                )
            except httpx.HTTPError:
                return False
            return r.status_code == 200 and "errors" not in r.json()

        cpu0 = server_cpu(proc)
        peak = 0.0

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, proc.memory_info().rss / 2**20)
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        n, errors, lat, took = await drive(c, s, one)
        sampler.cancel()
        cpu = server_cpu(proc) - cpu0
    return Result("GraphQL createFeedback", c, n, errors, took, lat, cpu, peak)


async def make_tokens(url: str, secret: str, runs: list[str], count: int, key: str) -> list[str]:
    """``count`` tokens over the runs (keys ``<key>-<n>``), in batches of the most
    one call takes."""
    query = "mutation($i: [FeedbackTokenInput!]!) { createFeedbackTokens(inputs: $i) { token } }"
    tokens: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        while len(tokens) < count:
            size = min(MAX_BATCH, count - len(tokens))
            offset = len(tokens)
            # One token per run and key in a call: the key changes every len(runs).
            inputs = [
                {"runId": runs[n % len(runs)], "key": f"{key}-{n // len(runs)}"}
                for n in range(offset, offset + size)
            ]
            r = await http.post(
                "/graphql",
                json={"query": query, "variables": {"i": inputs}},
                headers={"Authorization": f"Bearer {secret}"},
            )
            body = r.json()
            if not body.get("data"):
                raise SystemExit(f"createFeedbackTokens: {body}")
            tokens += [t["token"] for t in body["data"]["createFeedbackTokens"]]
    return tokens


async def widget(name: str, url: str, pid: int, tokens: list[str], c: int, s: float) -> Result:
    """Widget posts cycling through ``tokens``: with more tokens than requests
    each post is a first vote (an insert); with a few, each changes a vote."""
    proc = psutil.Process(pid)
    async with http_clients(url, c) as clients:

        async def one(i: int, w: int) -> bool:
            body = {"token": tokens[i % len(tokens)], "score": i % 2}
            try:
                r = await clients[w].post("/public/feedback", json=body)
            except httpx.HTTPError:
                return False
            return r.status_code == 200

        cpu0 = server_cpu(proc)
        n, errors, lat, took = await drive(c, s, one)
        cpu = server_cpu(proc) - cpu0
    return Result(name, c, n, errors, took, lat, cpu, proc.memory_info().rss / 2**20)


@contextmanager
def profiled(pid: int, out: Path | None) -> Iterator[None]:
    """py-spy sampling process ``pid`` (and its workers) into ``out`` while the block
    runs; nothing when ``out`` is None."""
    if out is None:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    sampler = subprocess.Popen(
        [
            *(spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "250"),
            *("--format", "raw", "--output", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(60)


def profile_summary(path: Path, top: int = 25) -> str:
    """The functions with the most samples in py-spy's raw stacks: on top of the
    stack (where the CPU was) and anywhere in it (what it was for)."""
    self_samples: Counter[str] = Counter()
    total_samples: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        samples += n
        self_samples[frames[-1]] += n
        for frame in set(frames):
            total_samples[frame] += n
    lines = [f"{path.name}: {samples} samples", "  top of stack:"]
    lines += [f"  {n * 100 / samples:5.1f}%  {f}" for f, n in self_samples.most_common(top)]
    lines.append("  anywhere in the stack:")
    lines += [f"  {n * 100 / samples:5.1f}%  {f}" for f, n in total_samples.most_common(top)]
    return "\n".join(lines)


def table(results: list[Result], ceilings: dict[int, float]) -> str:
    head = (
        f"{'path':<30}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'cpu s/1k':>10}{'peak MB':>9}{'/ceiling':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        cpu = f"{r.cpu_seconds / r.requests * 1000:.2f}" if r.cpu_seconds is not None else "-"
        rss = f"{r.peak_rss_mb:.0f}" if r.peak_rss_mb is not None else "-"
        ratio = f"{r.rate / ceilings[r.concurrency]:.2f}" if r.name != "driver ceiling" else "1.00"
        if r.name == BATCH_CEILING:
            ratio = f"({ratio})"
        lines.append(
            f"{r.name:<30}{r.concurrency:>5}{r.rate:>9.0f}{percentile(r.latencies, 50):>9.1f}"
            f"{percentile(r.latencies, 99):>9.1f}{r.errors:>8}{cpu:>10}{rss:>9}{ratio:>10}"
        )
    lines += ["", "p99 at the lowest concurrency giving 80% of the path's peak throughput:"]
    for name in dict.fromkeys(r.name for r in results if r.name != BATCH_CEILING):
        runs = [r for r in results if r.name == name]
        peak = max(runs, key=lambda r: r.rate)
        near = min((r for r in runs if r.rate >= 0.8 * peak.rate), key=lambda r: r.concurrency)
        p99 = percentile(near.latencies, 99)
        lines.append(
            f"  {name:<30} peak {peak.rate:.0f} req/s at {peak.concurrency}; "
            f"{near.rate:.0f} req/s at {near.concurrency}, p99 {p99:.1f} ms"
        )
    return "\n".join(lines)


async def main_async(seconds: float, levels: list[int], workers: int, profile: Path | None) -> None:
    db_name = f"bench_{uuid.uuid4().hex[:8]}"
    with store() as uri:
        project_id, secret, runs = await setup(uri, db_name)
        results: list[Result] = []
        ceilings: dict[int, float] = {}
        with server(uri, db_name, workers) as (url, pid):
            changing = await make_tokens(url, secret, runs, len(runs), "widget")
            for c in levels:
                base = await ceiling(uri, db_name, project_id, runs, c, seconds)
                ceilings[c] = base.rate
                results.append(base)
                if c > 1:
                    results.append(await batch_ceiling(uri, db_name, project_id, runs, c, seconds))
                with profiled(pid, spy_file(profile, "graphql", c)):
                    results.append(await graphql(url, pid, secret, runs, c, seconds))
                # Enough new tokens that no post repeats one (a first vote each).
                fresh = await make_tokens(url, secret, runs, int(seconds * 400), f"first{c}")
                with profiled(pid, spy_file(profile, "first-vote", c)):
                    results.append(await widget(FIRST_VOTE, url, pid, fresh, c, seconds))
                with profiled(pid, spy_file(profile, "changed-vote", c)):
                    results.append(await widget(CHANGED_VOTE, url, pid, changing, c, seconds))
        print(table(results, ceilings))


def spy_file(profile: Path | None, phase: str, concurrency: int) -> Path | None:
    if profile is None:
        return None
    profile.mkdir(parents=True, exist_ok=True)
    return profile / f"{phase}-c{concurrency}.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", default="1,4,16,64")
    parser.add_argument("--workers", type=int, default=1, help="plaudit serve --workers")
    parser.add_argument("--profile", type=Path, help="sample the server with py-spy into DIR")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    asyncio.run(main_async(args.seconds, levels, args.workers, args.profile))
    if args.profile is not None:
        for path in sorted(args.profile.glob("*.txt")):
            print("\n" + profile_summary(path))


if __name__ == "__main__":
    main()
