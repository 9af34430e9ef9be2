"""One rule for positive and negative: statistics (both sources), worst runs and the
exports read a key the same way, and an unregistered key whose scores are only 0/1
or booleans counts as boolean (the quickstart's `thumbs`)."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.feedback import delete_feedback
from tests.analytics.test_stats import both, register
from tests.conftest import GraphQLClient, Keys
from tests.pipelines_support import CHANGE, give, make_runs, services
from tests.test_export_formats import download

RULES = """query($keys: [String!]) {
  feedbackKeyRules(keys: $keys) { key kind registered min max threshold higherIsBetter }
}"""
WORST = """query($keys: [String!]) {
  worstRuns(keys: $keys, first: 50) { runId negative positive }
}"""


async def rule_of(gql: GraphQLClient, key: str) -> dict[str, Any]:
    [rule] = (await gql.ok(RULES, {"keys": [key]}))["feedbackKeyRules"]
    assert rule["key"] == key
    return rule  # type: ignore[no-any-return]


async def negatives(
    gql: GraphQLClient, http: httpx.AsyncClient, keys: Keys, key: str
) -> tuple[set[str], set[str]]:
    """Runs with negative feedback on ``key``: by worst runs, and by the export."""
    worst = (await gql.ok(WORST, {"keys": [key]}))["worstRuns"]
    exported = await download(http, keys.read, "regressions", key=key)
    return {w["runId"] for w in worst}, {line["run_id"] for line in exported}


async def test_an_unregistered_zero_one_key_counts_as_boolean(
    app: Starlette, gql: GraphQLClient, http: httpx.AsyncClient, keys: Keys
) -> None:
    runs = await make_runs(app, keys.project_id, 10)
    ups, downs = runs[:7], runs[7:]
    for run in ups:
        await give(app, keys.project_id, run, "thumbs", 1)
    for run in downs:
        await give(app, keys.project_id, run, "thumbs", 0)

    [group] = (await both(gql, {"keys": ["thumbs"]}))["groups"]
    assert (group["positive"], group["negative"]) == (7, 3)
    assert group["negativeShare"] == 0.3
    assert group["labels"] == [{"label": "true", "count": 7}, {"label": "false", "count": 3}]
    assert await rule_of(gql, "thumbs") == {
        "key": "thumbs",
        "kind": "BOOLEAN",
        "registered": False,
        "min": 0.0,
        "max": 1.0,
        "threshold": 0.5,
        "higherIsBetter": True,
    }
    worst, exported = await negatives(gql, http, keys, "thumbs")
    assert worst == exported == set(downs)


async def test_booleans_and_numbers_on_unregistered_keys(
    app: Starlette, gql: GraphQLClient, http: httpx.AsyncClient, keys: Keys
) -> None:
    runs = await make_runs(app, keys.project_id, 4)
    for run, vote in zip(runs, [True, False, False, True], strict=True):
        await give(app, keys.project_id, run, "liked", vote)
    for run, score in zip(runs, [-1, 0, 2, 0], strict=True):
        await give(app, keys.project_id, run, "delta", score)

    assert (await rule_of(gql, "liked"))["kind"] == "BOOLEAN"
    delta = await rule_of(gql, "delta")
    assert (delta["kind"], delta["threshold"], delta["min"]) == ("CONTINUOUS", 0.0, None)
    by_key = {g["key"]: g for g in (await both(gql, {}, [{"dimension": "KEY"}]))["groups"]}
    assert (by_key["liked"]["positive"], by_key["liked"]["negative"]) == (2, 2)
    # Not boolean (a -1 and a 2): 0 is the threshold, so the two zeros are neither.
    assert (by_key["delta"]["positive"], by_key["delta"]["negative"]) == (1, 1)
    for key, expected in (("liked", {runs[1], runs[2]}), ("delta", {runs[0]})):
        worst, exported = await negatives(gql, http, keys, key)
        assert worst == exported == expected, key


async def test_a_key_stops_and_starts_counting_as_boolean(
    app: Starlette, gql: GraphQLClient, http: httpx.AsyncClient, keys: Keys
) -> None:
    runs = await make_runs(app, keys.project_id, 4)
    for run, score in zip(runs[:3], [1, 0, 0], strict=True):
        await give(app, keys.project_id, run, "thumbs", score)
    [group] = (await both(gql, {"keys": ["thumbs"]}))["groups"]
    assert (group["positive"], group["negative"]) == (1, 2)

    # A 0.5 makes it a continuous key without a range: 0 is the threshold.
    half = await give(app, keys.project_id, runs[3], "thumbs", 0.5)
    assert (await rule_of(gql, "thumbs"))["kind"] == "CONTINUOUS"
    [group] = (await both(gql, {"keys": ["thumbs"]}))["groups"]
    assert (group["positive"], group["negative"]) == (2, 0)
    worst, exported = await negatives(gql, http, keys, "thumbs")
    assert worst == exported == set()

    # Gone again: boolean again, and the rollups counted meanwhile read right.
    await delete_feedback(services(app).stores, keys.project_id, half.id, CHANGE)
    assert (await rule_of(gql, "thumbs"))["kind"] == "BOOLEAN"
    [group] = (await both(gql, {"keys": ["thumbs"]}))["groups"]
    assert (group["positive"], group["negative"]) == (1, 2)
    worst, exported = await negatives(gql, http, keys, "thumbs")
    assert worst == exported == {runs[1], runs[2]}

    # A rebuild counts them against the threshold they have now.
    await rebuild_rollups(services(app).stores, keys.project_id)
    [group] = (await both(gql, {"keys": ["thumbs"]}))["groups"]
    assert (group["positive"], group["negative"]) == (1, 2)


async def test_registered_keys_follow_their_registration(
    app: Starlette, gql: GraphQLClient, http: httpx.AsyncClient, keys: Keys
) -> None:
    await register(app, keys.project_id, "stars", kind="continuous", min=1, max=5)
    await register(
        app, keys.project_id, "wait", kind="continuous", min=0, max=10, higher_is_better=False
    )
    await register(app, keys.project_id, "notes", kind="freeform")
    runs = await make_runs(app, keys.project_id, 3)
    for run, stars, wait in zip(runs, [1, 3, 5], [9, 5, 1], strict=True):
        await give(app, keys.project_id, run, "stars", stars)
        await give(app, keys.project_id, run, "wait", wait)
        await give(app, keys.project_id, run, "notes", comment="words")
    stars = await rule_of(gql, "stars")
    assert (stars["kind"], stars["min"], stars["max"], stars["threshold"]) == (
        "CONTINUOUS",
        1.0,
        5.0,
        3.0,
    )
    assert (await rule_of(gql, "wait"))["higherIsBetter"] is False
    assert (await rule_of(gql, "notes"))["threshold"] is None
    by_key = {g["key"]: g for g in (await both(gql, {}, [{"dimension": "KEY"}]))["groups"]}
    assert (by_key["stars"]["positive"], by_key["stars"]["negative"]) == (1, 1)
    assert (by_key["wait"]["positive"], by_key["wait"]["negative"]) == (1, 1)
    assert (by_key["notes"]["positive"], by_key["notes"]["negative"]) == (0, 0)
    for key in ("stars", "wait"):
        worst, exported = await negatives(gql, http, keys, key)
        assert worst == exported == {runs[0]}, key
    every = {r["key"] for r in (await gql.ok(RULES, {"keys": None}))["feedbackKeyRules"]}
    assert every == {"stars", "wait", "notes"}
