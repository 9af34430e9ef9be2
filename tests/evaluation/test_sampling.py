"""Sampling: deterministic (a hash of rule id and run id) and uniform. Rules at
rates 1.0 and 0.3 over 1,000 runs, the runs written through two app instances:
both instances choose the same runs, and the sample's size is within what a fair
coin allows.

The tolerance: each run is in a 0.3 sample independently with probability 0.3, so
the size over 1,000 runs is Binomial(1000, 0.3): mean 300, standard deviation
sqrt(1000 * 0.3 * 0.7) = 14.5. The test allows 4.5 standard deviations (±65):
a correct sampler falls outside it about once in 150,000 runs of the test, while
a sampler off by a tenth of the rate (0.27 or 0.33) is caught nearly always.
(The rule id is new on every run of the test, so the sample is too.)"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app import clock
from app.domain.evaluation.sampling import is_sampled, sample_point
from app.main import create_app
from app.settings import Settings
from tests.conftest import GraphQLClient, Keys
from tests.evaluation.api import BACKFILL, check_rule, create_rule, ingest, run

RUNS = 1000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Only the queue is looked at here: no process works it.
    return replace(settings, evaluation_workers=False)


def tolerance(n: int, rate: float, sds: float = 4.5) -> float:
    return sds * math.sqrt(n * rate * (1 - rate))


def test_the_sample_point_is_uniform() -> None:
    rule = str(uuid.uuid4())
    n = 100_000
    points = [sample_point(rule, str(uuid.uuid4())) for _ in range(n)]
    assert all(0 <= p < 1 for p in points)
    deciles = Counter(int(p * 10) for p in points)
    for decile in range(10):
        assert abs(deciles[decile] - n / 10) <= tolerance(n, 0.1), deciles
    share = sum(p < 0.3 for p in points)
    assert abs(share - 0.3 * n) <= tolerance(n, 0.3)
    # The same run, another rule: another point (rules sample independently).
    run_id = str(uuid.uuid4())
    others = [sample_point(str(uuid.uuid4()), run_id) for _ in range(1000)]
    assert len(set(others)) == 1000


def test_rates_at_the_edges() -> None:
    assert is_sampled("r", "x", 1.0) and not is_sampled("r", "x", 0.0)
    assert is_sampled("r", "x", 0.5) == (sample_point("r", "x") < 0.5)


async def test_two_processes_sample_the_same_runs(
    app: Starlette, gql: GraphQLClient, keys: Keys, settings: Settings, sync_db: Any
) -> None:
    every = (await create_rule(gql, check_rule("every run", "json_all", {"type": "VALID_JSON"})))[
        "rule"
    ]
    some = (
        await create_rule(gql, check_rule("a third", "json_some", {"type": "VALID_JSON"}, 0.3))
    )["rule"]
    runs = [run(outputs=f'{{"n": {i}}}') for i in range(RUNS)]
    # A run created at its start and completed later is sampled once it completes.
    started = {"id": str(uuid.uuid4()), "name": "slow"}
    await ingest(gql, [started])

    second = create_app(settings)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gql2 = GraphQLClient(http, keys.ingest)
            await ingest(gql.as_key(keys.ingest), runs[: RUNS // 2])
            await ingest(gql2, runs[RUNS // 2 :])
            assert sync_db["evaluations"].count_documents({"run_id": started["id"]}) == 0
            await ingest(gql2, [{"id": started["id"], "outputs": "{}"}])
            # Written again (completed twice): still one evaluation per rule.
            await ingest(gql, [{"id": started["id"], "outputs": "{}"}])

            ids = [r["id"] for r in runs] + [started["id"]]
            queued = {
                rule["id"]: {
                    d["run_id"] for d in sync_db["evaluations"].find({"rule_id": rule["id"]})
                }
                for rule in (every, some)
            }
            assert sync_db["evaluations"].count_documents({"rule_id": every["id"]}) == RUNS + 1
            assert queued[every["id"]] == set(ids)
            # The 0.3 sample: the runs the hash picks, whichever process wrote them.
            expected = {i for i in ids if is_sampled(some["id"], i, 0.3)}
            assert queued[some["id"]] == expected
            assert abs(len(expected) - 0.3 * len(ids)) <= tolerance(len(ids), 0.3)
            assert sync_db["evaluations"].count_documents({"rule_id": some["id"]}) == len(expected)

            # A backfill by the other process over the same runs picks the same ones:
            # all queued already.
            since = (clock.now() - timedelta(hours=1)).isoformat()
            data = await GraphQLClient(http, keys.admin).ok(
                BACKFILL, {"id": some["id"], "after": since}
            )
            result = data["backfillEvaluationRule"]
            assert result == {
                "scanned": RUNS + 1,
                "sampled": len(expected),
                "queued": 0,
                "complete": True,
                "resumeBefore": None,
            }
