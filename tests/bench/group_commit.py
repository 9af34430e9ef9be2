"""Group commit against the driver's own insert, alternating in one process.

    .venv/bin/python -m tests.bench.group_commit [--rounds 40] [--concurrency 16]

Rounds alternate between ``GroupInserts.insert_one`` and ``insert_one`` on the
same collection (the same journaled write concern), so load from elsewhere on a
shared machine hits both alike: at concurrency 1, each insert's latency (group
commit must add none); at ``--concurrency``, inserts per second."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from app.store.client import make_client
from app.store.group_commit import GroupInserts
from tests.bench.common import percentile, store

Insert = Callable[[dict[str, Any]], Awaitable[Any]]


def document(n: int) -> dict[str, Any]:
    """A feedback-sized document with a history entry inside it."""
    return {
        "_id": str(uuid.uuid4()),
        "project_id": "bench",
        "run_id": str(uuid.uuid4()),
        "key": "thumbs",
        "actor": uuid.uuid4().hex,
        "score": n % 2,
        "deleted": False,
        "history": [{"change": "created", "by": "bench", "via": "bench", "new": {"score": 1}}],
    }


async def main_async(rounds: int, concurrency: int) -> None:
    with store() as uri:
        client = make_client(uri)
        collection = client[f"bench_{uuid.uuid4().hex[:8]}"]["feedback"]
        grouped = GroupInserts(collection)
        ways: dict[str, Insert] = {
            "group commit": grouped.insert_one,
            "insert_one": collection.insert_one,
        }
        alone: dict[str, list[float]] = {name: [] for name in ways}
        spent = dict.fromkeys(ways, 0.0)
        for r in range(rounds):
            order = list(ways) if r % 2 else list(reversed(ways))
            for name in order:
                for n in range(concurrency):
                    started = time.perf_counter()
                    await ways[name](document(n))
                    alone[name].append((time.perf_counter() - started) * 1000)
                docs = [document(n) for n in range(concurrency)]
                started = time.perf_counter()
                await asyncio.gather(*(ways[name](d) for d in docs))
                spent[name] += time.perf_counter() - started
        await client.close()
    print(f"{'way':<14}{'c=1 p50 ms':>12}{'c=1 p99 ms':>12}{f'c={concurrency} inserts/s':>18}")
    for name in ways:
        rate = rounds * concurrency / spent[name]
        p50, p99 = percentile(alone[name], 50), percentile(alone[name], 99)
        print(f"{name:<14}{p50:>12.2f}{p99:>12.2f}{rate:>18.0f}")
    print(f"group commit: {grouped.bulks_sent} bulks, {grouped.operations_sent} inserts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main_async(args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
