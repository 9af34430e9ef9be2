"""Online evaluation: what active rules cost ingestion, and how fast a process
works the queue.

    .venv/bin/python -m tests.bench.evaluation [--seconds 10] [--concurrency 8]
        [--batch 1,20] [--queued 3000]

1. Ingest throughput (GraphQL ``ingestRuns``, each run complete, from a separate
   load-generator process) with no active rule and with three (an LLM judge
   answered by the fake OpenAI-compatible server of tests/autofeedback/fake_llm.py,
   a JSON-validity check and a length check, every one sampling every run), in the
   same run, alternating none / rules / none / rules so drift hits both alike. Two
   servers: one whose worker also works the queue (the evaluations compete with
   ingestion for the same two cores and database), and one that only queues
   (PLAUDIT_EVALUATION_WORKERS_OFF: the write path's own cost).
2. Evaluations per second with built-in checks: ``--queued`` evaluations queued
   while no process works, then one `plaudit serve` process (then two) works them;
   the time from start-up until none is pending.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from app.domain.auth import create_key
from app.store import Stores
from app.store.client import make_client
from app.store.indexes import ensure_indexes
from tests.autofeedback.fake_llm import Reply, running_fake_llm
from tests.bench.common import percentile, server, store
from tests.bench.ingest import drive, http_clients

INGEST = "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }"
CREATE_RULE = (
    "mutation($input: EvaluationRuleInput!) { createEvaluationRule(input: $input) { rule { id } } }"
)
PAUSE = "mutation($id: ID!) { pauseEvaluationRule(id: $id) { id } }"
RESUME = "mutation($id: ID!) { resumeEvaluationRule(id: $id) { id } }"
RULES = [
    {
        "name": "judge",
        "key": "polite",
        "samplingRate": 1,
        "scorer": {"kind": "LLM", "examples": 1},
    },
    {
        "name": "json",
        "key": "json",
        "samplingRate": 1,
        "scorer": {"kind": "CHECK", "check": {"type": "VALID_JSON"}},
    },
    {
        "name": "short",
        "key": "short",
        "samplingRate": 1,
        "scorer": {"kind": "CHECK", "check": {"type": "LENGTH", "maxLength": 200}},
    },
]


@dataclass
class Phase:
    server: str
    batch: int
    rules: bool
    runs: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds


async def setup(uri: str, db_name: str) -> tuple[str, str]:
    client = make_client(uri)
    stores = Stores.open(client[db_name])
    await ensure_indexes(stores.db)
    project = await stores.projects.create(f"bench-{uuid.uuid4().hex[:6]}")
    _, admin = await create_key(stores, project.id, "admin")
    await client.close()
    return project.id, admin


async def gql(url: str, key: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        r = await http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {key}"},
        )
    body = r.json()
    if body.get("errors"):
        raise SystemExit(f"{query[:40]}: {body['errors']}")
    return body["data"]


async def make_rules(url: str, key: str) -> list[str]:
    await gql(
        url, key, 'mutation { registerFeedbackKey(input: {key: "polite", kind: BOOLEAN}) { key } }'
    )
    await gql(
        url, key, 'mutation { setKeyJudge(key: "polite", instructions: "true if polite") { key } }'
    )
    ids = []
    for rule in RULES:
        data = await gql(url, key, CREATE_RULE, {"input": rule})
        ids.append(data["createEvaluationRule"]["rule"]["id"])
    return ids


async def ingest(name: str, url: str, key: str, batch: int, rules: bool, c: int, s: float) -> Phase:
    async with http_clients(url, c, {"Authorization": f"Bearer {key}"}) as clients:

        async def one(i: int, w: int) -> bool:
            runs = [
                {"id": str(uuid.uuid4()), "name": "bench", "outputs": '{"answer": "fine"}'}
                for _ in range(batch)
            ]
            try:
                r = await clients[w].post(
                    "/graphql", json={"query": INGEST, "variables": {"runs": runs}}
                )
            except httpx.HTTPError:
                return False
            return r.status_code == 200 and "errors" not in r.json()

        n, errors, lat, took = await drive(c, s, one)
    return Phase(name, batch, rules, (n - errors) * batch, n, errors, took, lat)


async def set_rules(url: str, key: str, ids: list[str], active: bool) -> None:
    for rule_id in ids:
        await gql(url, key, RESUME if active else PAUSE, {"id": rule_id})


async def pending(uri: str, db_name: str) -> int:
    client = make_client(uri)
    try:
        return await client[db_name]["evaluations"].count_documents(
            {"status": {"$in": ["pending", "running"]}}
        )
    finally:
        await client.close()


async def ingest_comparison(
    uri: str, llm_url: str, seconds: float, c: int, batches: list[int]
) -> list[Phase]:
    phases: list[Phase] = []
    for label, env in (
        ("queues and works", {}),
        ("queues only", {"PLAUDIT_EVALUATION_WORKERS_OFF": "true"}),
    ):
        db_name = f"bench_{uuid.uuid4().hex[:8]}"
        _, admin = await setup(uri, db_name)
        llm_env = {"PLAUDIT_LLM_BASE_URL": llm_url, "PLAUDIT_LLM_MODEL": "bench-judge"}
        with server(uri, db_name, extra_env={**llm_env, **env}) as (url, _pid):
            ids = await make_rules(url, admin)
            for batch in batches:
                for active in (False, True, False, True):
                    await set_rules(url, admin, ids, active)
                    phases.append(await ingest(label, url, admin, batch, active, c, seconds))
            left = await pending(uri, db_name)
            print(f"{label}: {left} evaluations still queued at the end", flush=True)
    return phases


async def drain(uri: str, llm_url: str, queued: int, workers: int) -> tuple[int, float]:
    """Queue ``queued`` check evaluations with no worker, then time ``workers``
    processes working them off."""
    db_name = f"bench_{uuid.uuid4().hex[:8]}"
    _, admin = await setup(uri, db_name)
    off = {"PLAUDIT_EVALUATION_WORKERS_OFF": "true"}
    with server(uri, db_name, extra_env=off) as (url, _pid):
        for rule in RULES[1:]:
            await gql(url, admin, CREATE_RULE, {"input": rule})
        for start in range(0, queued // 2, 500):
            runs = [
                {"id": str(uuid.uuid4()), "outputs": '{"a": 1}'}
                for _ in range(min(500, queued // 2 - start))
            ]
            await gql(url, admin, INGEST, {"runs": runs})
    total = await pending(uri, db_name)
    # Timed from the first evaluation seen done (not from start-up) to the last.
    first: tuple[float, int] | None = None
    with server(uri, db_name, workers=workers) as _:
        while True:
            left = await pending(uri, db_name)
            now = time.perf_counter()
            if first is None and left < total:
                first = (now, left)
            if left == 0:
                break
            await asyncio.sleep(0.2)
    assert first is not None
    return first[1], now - first[0]


def ingest_table(phases: list[Phase]) -> str:
    head = (
        f"{'server':<18}{'runs/call':>10}{'rules':>7}{'runs/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}"
    )
    lines = [head, "-" * len(head)]
    for p in phases:
        lines.append(
            f"{p.server:<18}{p.batch:>10}{'3' if p.rules else '0':>7}{p.runs_per_second:>9.0f}"
            f"{percentile(p.latencies, 50):>9.1f}{percentile(p.latencies, 99):>9.1f}{p.errors:>8}"
        )
    lines += ["", "ratio (3 rules / none, both rounds summed):"]
    for name in dict.fromkeys(p.server for p in phases):
        for batch in dict.fromkeys(p.batch for p in phases):
            mine = [p for p in phases if p.server == name and p.batch == batch]
            on = sum(p.runs for p in mine if p.rules) / sum(p.seconds for p in mine if p.rules)
            off = sum(p.runs for p in mine if not p.rules) / sum(
                p.seconds for p in mine if not p.rules
            )
            lines.append(f"  {name:<18} {batch:>3} runs/call: {on / off:.2f}")
    return "\n".join(lines)


async def main_async(seconds: float, c: int, batches: list[int], queued: int) -> None:
    with store() as uri, running_fake_llm() as fake:
        fake.responder = lambda body: Reply.label({"score": True})
        phases = await ingest_comparison(uri, fake.url, seconds, c, batches)
        print(ingest_table(phases), flush=True)
        print()
        print(f"{'processes':>10}{'evaluations':>13}{'seconds':>9}{'eval/s':>8}{'per process':>13}")
        for workers in (1, 2):
            total, took = await drain(uri, fake.url, queued, workers)
            rate = total / took
            print(f"{workers:>10}{total:>13}{took:>9.1f}{rate:>8.0f}{rate / workers:>13.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", default="1,20")
    parser.add_argument("--queued", type=int, default=3000)
    args = parser.parse_args()
    batches = [int(b) for b in args.batch.split(",")]
    asyncio.run(main_async(args.seconds, args.concurrency, batches, args.queued))


if __name__ == "__main__":
    main()
