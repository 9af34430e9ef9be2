"""Grouped rollups stored as one document per bucket (key, grouping, hour or day):
any value (dots, dollars, nothing, very long, None) has its group in the bucket
under a safe id; the bound of groups per bucket holds within one flush and across
flushes; erasing a user drops only their group and never frees their slot; one
flush writes one update per bucket it touches."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from app.domain.analytics import group_rollups
from app.domain.analytics.group_rollups import GROUP_DIMENSIONS, MAX_GROUPS, write_values
from app.domain.lifecycle.erasure import erase_end_user
from app.domain.runs import RunWrite, ingest_runs
from app.settings import Settings
from app.store.feedback_group_buckets import BucketId, GroupBucketWriteError, value_id
from app.store.feedback_rollups import RollupDelta
from tests.analytics.test_group_rollups import BASE, flush, make_run
from tests.analytics.test_stats import both
from tests.commands import CommandRecorder
from tests.conftest import GraphQLClient, Keys
from tests.pipelines_support import give, services, written_at

# Values that are no safe field names: a path, an operator, nothing, the other
# group's own id, a long one (the API's limit for a user id).
HOSTILE = ["a.b", "$inc", "", "o", "gs.o.c", "x" * 512, None]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No timed flushes: these tests flush by hand.
    return replace(settings, rollup_flush_seconds=3600)


def user_buckets(sync_db: Any, pid: str) -> list[dict[str, Any]]:
    return list(sync_db.feedback_group_buckets.find({"project_id": pid, "d": "user"}))


USER_QUERY = """query($filter: FeedbackStatsFilter) {
  feedbackStats(filter: $filter, groupBy: [{dimension: USER}]) {
    source groups { userId other count } } }"""


async def by_user(gql: GraphQLClient) -> dict[Any, int]:
    window = {"after": BASE.isoformat(), "before": (BASE + timedelta(days=1)).isoformat()}
    data = await gql.ok(USER_QUERY, {"filter": window})
    assert data["feedbackStats"]["source"] == "ROLLUPS"
    return {
        ("(other)" if g["other"] else g["userId"]): g["count"]
        for g in data["feedbackStats"]["groups"]
    }


async def test_any_value_has_its_own_group_in_one_bucket(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    sync_db: Any,
) -> None:
    pid = keys.project_id
    rng = random.Random(7)
    runs = [await make_run(app, pid, rng) for _ in HOSTILE]
    with written_at(monkeypatch, BASE + timedelta(minutes=5)):
        for n, user in enumerate(HOSTILE, start=1):
            for run_id in runs[:n]:  # a different count per value: none can hide another
                await give(app, pid, run_id, "thumbs", True, user_id=user)
    await flush(app)
    assert await by_user(gql) == {user: n for n, user in enumerate(HOSTILE, start=1)}
    await both(gql, {}, [{"dimension": "USER"}])
    # One hour and one day bucket, each holding every value's group under its id.
    docs = user_buckets(sync_db, pid)
    assert sorted(d["g"] for d in docs) == ["day", "hour"]
    for doc in docs:
        assert sorted(doc["ids"]) == sorted(value_id(u) for u in HOSTILE)
        assert {g["gv"] for g in doc["gs"].values()} == set(HOSTILE)
        assert "o" not in doc["gs"]
    # Ids are fixed-length, distinct, and safe as field names.
    ids = {value_id(u) for u in HOSTILE} | {value_id("y" * 10_000)}
    assert len(ids) == len(HOSTILE) + 1
    assert {len(i) for i in ids} == {25}
    assert not any("." in i or "$" in i for i in ids)


async def test_a_ten_thousand_character_value_and_none_in_one_bucket(app: Starlette) -> None:
    """Below the API's limits: the store takes any text (imports, other clients)."""
    stores = services(app).stores
    bucket = BucketId("p", "thumbs", "tag", "hour", BASE)
    long = "é.$" * 3_334
    values = {
        (bucket, v): RollupDelta(count=n, scored=n, total=n) for n, v in [(2, long), (3, None)]
    }
    values[(bucket, "")] = RollupDelta(count=1)
    await write_values(stores, values)
    found = await stores.feedback_group_buckets.fetch(
        "p", ["thumbs"], "tag", "hour", BASE, BASE + timedelta(hours=1), with_hist=True
    )
    assert {g.id.value: g.rollup.count for g in found} == {long: 2, None: 3, "": 1}
    assert not any(g.id.other for g in found)


async def test_the_bound_holds_in_one_flush_and_across_flushes(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    sync_db: Any,
) -> None:
    """More than MAX_GROUPS values in one flush: the busiest get the groups, the
    rest count in "other"; a later flush's new values go to "other" too, while
    values with a group keep adding to it."""
    pid = keys.project_id
    rng = random.Random(8)
    run_id, second = await make_run(app, pid, rng), await make_run(app, pid, rng)
    busy = [f"busy-{i:03}" for i in range(MAX_GROUPS)]
    quiet = [f"quiet-{i}" for i in range(5)]
    with written_at(monkeypatch, BASE + timedelta(minutes=20)):
        for user in quiet + busy:
            await give(app, pid, run_id, "thumbs", True, user_id=user)
        for user in busy:
            await give(app, pid, second, "thumbs", False, user_id=user)
    assert services(app).pipelines.rollups.flushes == 0
    await flush(app)
    assert await by_user(gql) == {**dict.fromkeys(busy, 2), "(other)": 5}

    with written_at(monkeypatch, BASE + timedelta(minutes=40)):
        for user, run in [("late-1", run_id), ("late-2", run_id), ("late-2", second)]:
            await give(app, pid, run, "thumbs", True, user_id=user)
        await give(app, pid, await make_run(app, pid, rng), "thumbs", True, user_id=busy[0])
    await flush(app)
    assert await by_user(gql) == {**dict.fromkeys(busy, 2), busy[0]: 3, "(other)": 8}
    for doc in user_buckets(sync_db, pid):
        assert doc["n"] == MAX_GROUPS
        assert sorted(doc["ids"]) == sorted(value_id(u) for u in busy)
        assert len(doc["gs"]) == MAX_GROUPS + 1
        assert doc["gs"]["o"]["c"] == 8


async def test_erasing_a_user_leaves_the_others_and_keeps_the_slot(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    sync_db: Any,
) -> None:
    monkeypatch.setattr(group_rollups, "MAX_GROUPS", 3)
    pid = keys.project_id
    stores = services(app).stores
    rng = random.Random(9)
    run_id, second = await make_run(app, pid, rng), await make_run(app, pid, rng)
    erased = "erased-user-4711"
    with written_at(monkeypatch, BASE + timedelta(minutes=30)):
        for user, run in [("ann", run_id), (erased, run_id), (erased, second), ("cy", run_id)]:
            await give(app, pid, run, "thumbs", True, user_id=user)
    await flush(app)
    assert await by_user(gql) == {"ann": 1, erased: 2, "cy": 1}

    await erase_end_user(stores, pid, erased, include_runs=False, by="test")
    assert await by_user(gql) == {"ann": 1, "cy": 1}
    docs = user_buckets(sync_db, pid)
    assert len(docs) == 2
    for doc in docs:
        assert erased not in json.dumps(doc, default=str)
        assert value_id(erased) not in json.dumps(doc, default=str)
        assert sorted(doc["ids"]) == sorted([value_id("ann"), value_id("cy")])
        assert doc["n"] == 3  # the erased user's slot stays given
        assert {g["gv"]: g["c"] for g in doc["gs"].values()} == {"ann": 1, "cy": 1}

    # The bound is reached: a newcomer counts in "other", not in the freed place.
    with written_at(monkeypatch, BASE + timedelta(minutes=35)):
        await give(app, pid, run_id, "thumbs", False, user_id="dee")
        await give(app, pid, second, "thumbs", False, user_id="ann")
    await flush(app)
    assert await by_user(gql) == {"ann": 2, "cy": 1, "(other)": 1}


@pytest.mark.record_commands
async def test_one_flush_writes_one_update_per_bucket(
    app: Starlette,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    recorder: CommandRecorder,
    sync_db: Any,
) -> None:
    """Six users and three tags in two hours of a day: 5 groupings x (2 hours + 1
    day) = 15 buckets, written by one bulk command of 15 updates, one each."""
    pid = keys.project_id
    runs = [f"00000000-0000-4000-8000-000000000b0{i}" for i in (1, 2)]
    stores = services(app).stores
    await ingest_runs(
        stores,
        pid,
        [RunWrite(id=r, model="m", tags=["t1", "t2", "t3"], session_id="s") for r in runs],
    )
    for hour, run_id in zip((1, 2), runs, strict=True):
        with written_at(monkeypatch, BASE + timedelta(hours=hour)):
            for user in range(6):
                await give(app, pid, run_id, "thumbs", True, user_id=f"u{user}")
    recorder.clear()
    await flush(app)
    writes = recorder.on("feedback_group_buckets", "update")
    assert len(writes) == 1
    filters = [json.dumps(u["q"], sort_keys=True, default=str) for u in writes[0]["updates"]]
    assert len(filters) == len(set(filters)) == 15
    assert sync_db.feedback_group_buckets.count_documents({"project_id": pid}) == 15
    per_grouping = {
        dim: sync_db.feedback_group_buckets.count_documents({"project_id": pid, "d": dim})
        for dim in GROUP_DIMENSIONS
    }
    assert per_grouping == dict.fromkeys(GROUP_DIMENSIONS, 3)
    day = sync_db.feedback_group_buckets.find_one({"project_id": pid, "d": "user", "g": "day"})
    assert {g["gv"]: g["c"] for g in day["gs"].values()} == {f"u{i}": 2 for i in range(6)}


async def test_recounted_extremes_are_saved_only_if_the_bucket_did_not_change(
    app: Starlette,
) -> None:
    stores = services(app).stores
    store = stores.feedback_group_buckets
    bucket = BucketId("p", "stars", "user", "hour", BASE)

    async def read() -> dict[Any, Any]:
        found = await store.fetch("p", ["stars"], "user", "hour", BASE, None, with_hist=False)
        return {g.id.value: g for g in found}

    added = RollupDelta(count=2, scored=2, total=6.0, add_min=1.0, add_max=5.0)
    await write_values(stores, {(bucket, "ann"): added, (bucket, "bob"): added})
    await write_values(stores, {(bucket, "ann"): RollupDelta(count=-1, scored=-1, dirty=True)})
    before = await read()
    assert before["ann"].rollup.dirty and not before["bob"].rollup.dirty
    version = before["ann"].rollup.version

    # Another flush wrote to the bucket meanwhile: the recount is not saved.
    await write_values(stores, {(bucket, "bob"): RollupDelta(count=1, scored=1, total=4.0)})
    assert not await store.save_extremes({before["ann"].id: (2.0, 4.0)}, version)
    assert (await read())["ann"].rollup.dirty

    current = await read()
    saved = {current["ann"].id: (2.0, 4.0), current["bob"].id: (None, None)}
    assert await store.save_extremes(saved, current["ann"].rollup.version)
    after = await read()
    assert (after["ann"].rollup.min_score, after["ann"].rollup.max_score) == (2.0, 4.0)
    assert not after["ann"].rollup.dirty
    assert (after["bob"].rollup.min_score, after["bob"].rollup.max_score) == (None, None)
    assert after["bob"].rollup.count == 3  # sums untouched


async def test_a_bucket_not_written_is_placed_again_on_the_next_flush(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    sync_db: Any,
) -> None:
    """One bucket's update fails (its document is broken): the other buckets are
    written, its deltas stay in the buffer, new slots included, and land exactly
    once the next flush can write it."""
    pid = keys.project_id
    buffer = services(app).pipelines.rollups
    rng = random.Random(10)
    run_id, second = await make_run(app, pid, rng), await make_run(app, pid, rng)
    at = BASE + timedelta(minutes=50)
    with written_at(monkeypatch, at):
        await give(app, pid, run_id, "thumbs", True, user_id="ann")
    await flush(app)
    hour = {"project_id": pid, "key": "thumbs", "d": "user", "g": "hour"}
    sync_db.feedback_group_buckets.update_one(hour, {"$set": {"gs": "broken"}})
    with written_at(monkeypatch, at):
        await give(app, pid, second, "thumbs", True, user_id="ann")
        await give(app, pid, run_id, "thumbs", False, user_id="bob")
    with pytest.raises(GroupBucketWriteError) as failed:
        await flush(app)
    assert [(b.dim, b.grain) for b in failed.value.failed] == [("user", "hour")]
    assert buffer.pending_groups == 2  # ann's and bob's deltas in that hour
    day = sync_db.feedback_group_buckets.find_one({**hour, "g": "day"})
    assert {g["gv"]: g["c"] for g in day["gs"].values()} == {"ann": 2, "bob": 1}

    sync_db.feedback_group_buckets.update_one(hour, {"$set": {"gs": {}, "ids": [], "n": 0}})
    await flush(app)
    assert buffer.pending_groups == 0
    doc = sync_db.feedback_group_buckets.find_one(hour)
    assert {g["gv"]: g["c"] for g in doc["gs"].values()} == {"ann": 1, "bob": 1}
    assert sorted(doc["ids"]) == sorted([value_id("ann"), value_id("bob")])
    assert doc["n"] == 2
