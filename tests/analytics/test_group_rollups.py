"""Statistics grouped by user, source, model, tag and tracing project read grouped
rollups, and equal the aggregation over raw feedback (the oracle): on random data
and changes, over mid-day windows, with pending feedback whose run arrives later,
after erasures, run deletions and retention, and after a rebuild; values beyond
the bound per bucket count in "other"."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from app.domain.analytics import group_rollups
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.feedback import FeedbackWrite, create_feedback, delete_feedback, update_feedback
from app.domain.lifecycle.erasure import erase_end_user
from app.domain.lifecycle.retention import sweep
from app.domain.lifecycle.runs import delete_runs
from app.domain.runs import RunWrite, ingest_runs
from app.settings import Settings
from app.store.feedback_group_buckets import value_id
from tests.analytics.test_stats import ALL_SOURCES, both, register, stats
from tests.conftest import GraphQLClient, Keys
from tests.pipelines_support import CHANGE, give, services, written_at

DIMENSIONS = ["USER", "SOURCE", "MODEL", "TAG", "SESSION"]
BASE = datetime(2025, 3, 3, 9, tzinfo=UTC)  # a Monday morning
USERS = [f"user-{i}" for i in range(12)] + [None]
SOURCES = ["api", "widget", "human"]
MODELS = ["gpt-a", "gpt-b", None]
TAGS = [[], ["beta"], ["beta", "eu"], ["eu"]]
SESSIONS = ["s1", "s2", None]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No timed flushes: these tests flush by hand.
    return replace(settings, rollup_flush_seconds=3600)


async def flush(app: Starlette) -> None:
    await services(app).pipelines.rollups.flush()


async def make_run(app: Starlette, project_id: str, rng: random.Random) -> str:
    run_id = f"00000000-0000-4000-8000-{rng.getrandbits(48):012x}"
    await ingest_runs(
        services(app).stores,
        project_id,
        [
            RunWrite(
                id=run_id,
                model=rng.choice(MODELS),
                tags=rng.choice(TAGS),
                session_id=rng.choice(SESSIONS),
            )
        ],
    )
    return run_id


async def all_agree(gql: GraphQLClient, window: dict[str, Any]) -> None:
    """Every grouping, alone, with keys and with a daily series: rollups equal the
    aggregation (no bucket here has more values than the bound)."""
    for dim in DIMENSIONS:
        await both(gql, window, [{"dimension": dim}])
        await both(gql, window, [{"dimension": "KEY"}, {"dimension": dim}])
        await both(gql, window, [{"dimension": dim}, {"dimension": "TIME", "bucket": "DAY"}])
    await both(gql, window, [{"dimension": "USER"}, {"dimension": "TIME", "bucket": "HOUR"}])


async def seed(
    app: Starlette, keys: Keys, monkeypatch: pytest.MonkeyPatch, rng: random.Random, n: int
) -> list[Any]:
    pid = keys.project_id
    await register(app, pid, "rating", kind="continuous", min=1, max=5)
    runs = [await make_run(app, pid, rng) for _ in range(15)]
    records = []
    for i in range(n):
        at = BASE + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        key = rng.choice(["thumbs", "rating"])
        score: Any = rng.random() < 0.6 if key == "thumbs" else rng.choice([1, 2, 3, 4.5, 5])
        with written_at(monkeypatch, at):
            records.append(
                await give(
                    app,
                    pid,
                    rng.choice(runs),
                    key,
                    score,
                    user_id=rng.choice(USERS),
                    source_type=rng.choice(SOURCES),
                    comment="words" if i % 5 == 0 else None,
                )
            )
    return records


async def test_grouped_rollups_equal_the_aggregation_through_random_changes(
    app: Starlette, gql: GraphQLClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(19)
    stores = services(app).stores
    records = await seed(app, keys, monkeypatch, rng, 120)
    distinct = list({r.id: r for r in records}.values())  # a later vote may change one
    for record in rng.sample(distinct, 40):  # new scores and comments, retractions, deletes
        choice = rng.random()
        if choice < 0.5:
            write = FeedbackWrite(run_id="", key="")
            if rng.random() < 0.6:
                write.score = (not record.score) if record.key == "thumbs" else 2
            else:
                write.comment = rng.choice(["edited", ""])
            await update_feedback(stores, keys.project_id, record.id, write, CHANGE)
        elif choice < 0.7 and record.user_id is not None:
            retract = FeedbackWrite(
                run_id=record.run_id, key=record.key, user_id=record.user_id, retract=True
            )
            await create_feedback(stores, keys.project_id, retract, CHANGE)
        else:
            await delete_feedback(stores, keys.project_id, record.id, CHANGE)
    await flush(app)
    whole = {"after": BASE.isoformat(), "before": (BASE + timedelta(days=4)).isoformat()}
    await all_agree(gql, whole)
    # A window starting and ending inside hours: edges raw, middle from rollups.
    mid = {
        "after": (BASE + timedelta(hours=5, minutes=17)).isoformat(),
        "before": (BASE + timedelta(days=2, hours=3, minutes=41)).isoformat(),
    }
    await all_agree(gql, mid)
    await all_agree(gql, {**mid, "keys": ["rating"]})
    await all_agree(gql, {})  # no window at all

    # A rebuild from raw feedback gives the same answers.
    await sync_clear(app)
    assert (await stats(gql, {}, [{"dimension": "USER"}]))["groups"] == []
    await rebuild_rollups(stores, keys.project_id)
    await all_agree(gql, whole)
    await all_agree(gql, mid)


async def sync_clear(app: Starlette) -> None:
    await services(app).stores.feedback_group_buckets.collection.delete_many({})


def user_buckets(sync_db: Any, user_id: str) -> int:
    """How many user buckets hold the user: a group of theirs, or a slot."""
    vid = value_id(user_id)
    return sync_db.feedback_group_buckets.count_documents(
        {"d": "user", "$or": [{"ids": vid}, {f"gs.{vid}": {"$exists": True}}]}
    )


async def test_erasure_run_deletion_and_retention_keep_groups_exact(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    sync_db: Any,
) -> None:
    rng = random.Random(21)
    stores = services(app).stores
    pid = keys.project_id
    records = await seed(app, keys, monkeypatch, rng, 90)
    await flush(app)
    whole = {"after": BASE.isoformat(), "before": (BASE + timedelta(days=4)).isoformat()}

    erased = next(r.user_id for r in records if r.user_id is not None)
    assert user_buckets(sync_db, erased) > 0
    await erase_end_user(stores, pid, erased, include_runs=False, by="test")
    await all_agree(gql, whole)
    assert user_buckets(sync_db, erased) == 0

    doomed = sorted({r.run_id for r in records})[:4]
    deletion = await delete_runs(stores, pid, ids=doomed)
    assert deletion.counts()["runs"] == 4
    await all_agree(gql, whole)

    # Retention: user groups of expired days go; the other groupings stay.
    await stores.projects.update(pid, {"retention_days": 1})
    horizon = datetime.now(UTC) - timedelta(days=1)
    assert horizon > BASE + timedelta(days=4)
    while await sweep(stores):
        pass
    assert sync_db.feedback_group_buckets.count_documents({"project_id": pid, "d": "user"}) == 0
    by_model = await stats(gql, whole, [{"dimension": "MODEL"}])
    assert by_model["source"] == "ROLLUPS"
    assert sum(g["count"] for g in by_model["groups"]) > 0  # counted, raw gone


async def test_pending_feedback_moves_to_its_runs_groups_when_the_run_arrives(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    pid = keys.project_id
    early = "00000000-0000-4000-8000-00000000e001"
    await give(app, pid, early, "thumbs", True, user_id="ann")
    await give(app, pid, early, "thumbs", False, user_id="bob")
    await flush(app)
    before = await both(gql, {}, [{"dimension": "MODEL"}])
    assert [(g["model"], g["count"]) for g in before["groups"]] == [(None, 2)]
    await ingest_runs(services(app).stores, pid, [RunWrite(id=early, model="gpt-late", tags=["x"])])
    await give(app, pid, early, "thumbs", True, user_id="cy")  # attached from the start
    await flush(app)
    after = await both(gql, {}, [{"dimension": "MODEL"}])
    assert [(g["model"], g["count"]) for g in after["groups"]] == [("gpt-late", 3)]
    tags = await both(gql, {}, [{"dimension": "TAG"}])
    assert [(g["tag"], g["count"]) for g in tags["groups"]] == [("x", 3)]


async def test_values_beyond_the_bound_count_in_other(
    app: Starlette, gql: GraphQLClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a bound of 3 values per bucket: the first three users (write path) or
    the three with the most records (rebuild) have groups; the rest is "other"."""
    monkeypatch.setattr(group_rollups, "MAX_GROUPS", 3)
    pid = keys.project_id
    rng = random.Random(3)
    runs = [await make_run(app, pid, rng) for _ in range(5)]
    # One key and hour: one hour bucket and one day bucket. Users a..e with 1..5 votes,
    # written a first: the write path gives slots to a, b and c.
    votes = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    given = {}
    with written_at(monkeypatch, BASE + timedelta(minutes=10)):
        for user, n in votes.items():
            for i in range(n):
                given[(user, i)] = await give(app, pid, runs[i], "thumbs", True, user_id=user)
                await flush(app)
    window = {"after": BASE.isoformat(), "before": (BASE + timedelta(hours=1)).isoformat()}
    query = """query($filter: FeedbackStatsFilter) {
      feedbackStats(filter: $filter, groupBy: [{dimension: USER}]) {
        source groups { userId other count } } }"""

    async def groups() -> dict[Any, int]:
        data = await gql.ok(query, {"filter": window})
        assert data["feedbackStats"]["source"] == "ROLLUPS"
        return {
            ("(other)" if g["other"] else g["userId"]): g["count"]
            for g in data["feedbackStats"]["groups"]
        }

    assert await groups() == {"a": 1, "b": 2, "c": 3, "(other)": 9}
    raw = await stats(gql, {**window, "sourceTypes": ALL_SOURCES}, [{"dimension": "USER"}])
    assert sum(g["count"] for g in raw["groups"]) == 15  # the total is exact either way

    # Removing a record of an "other" user takes it out of "other".
    await delete_feedback(services(app).stores, pid, given[("e", 0)].id, CHANGE)
    await flush(app)
    assert await groups() == {"a": 1, "b": 2, "c": 3, "(other)": 8}

    # A rebuild gives the groups to the values with the most records (ties by value).
    await rebuild_rollups(services(app).stores, pid)
    assert await groups() == {"d": 4, "e": 4, "c": 3, "(other)": 3}


async def test_removing_feedback_still_buffered_takes_it_from_its_group(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    """A new user's vote is not flushed yet (its group not chosen) when its run is
    deleted: the removal flushes first, so it comes out of the user's group, not
    out of "other"."""
    pid = keys.project_id
    rng = random.Random(5)
    kept, doomed = await make_run(app, pid, rng), await make_run(app, pid, rng)
    await give(app, pid, kept, "thumbs", True, user_id="old")
    await flush(app)
    await give(app, pid, doomed, "thumbs", False, user_id="newcomer")
    await give(app, pid, kept, "thumbs", False, user_id="newcomer")
    assert services(app).pipelines.rollups.pending_groups > 0
    await delete_runs(services(app).stores, pid, ids=[doomed])
    await flush(app)
    by_user = await both(gql, {}, [{"dimension": "USER"}])
    assert {g["userId"]: g["count"] for g in by_user["groups"]} == {"old": 1, "newcomer": 1}
