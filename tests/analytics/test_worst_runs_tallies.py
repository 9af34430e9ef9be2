"""Worst runs read per-run tallies, and give exactly what the aggregation over raw
feedback gave (kept as the oracle: ``FeedbackAnalyticsStore.run_tallies``), through
random changes, windows that start and end mid-day or mid-hour, a key whose
direction or threshold changes, erasure, run deletion, retention and rebuilds. The
stored tallies themselves are checked against a recomputation from the raw
documents, so a read that recounts from raw cannot hide a wrong tally."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from app import clock
from app.domain.analytics import recounts, windows
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.analytics.rules import UNSEEN_THRESHOLD, load_rules, thresholds
from app.domain.analytics.tally_reads import pieces
from app.domain.analytics.worst_runs import worst_runs
from app.domain.feedback import FeedbackWrite, create_feedback, delete_feedback, update_feedback
from app.domain.feedback_keys import KeyConfig, delete_key, register_key
from app.domain.lifecycle.erasure import erase_end_user
from app.domain.lifecycle.retention import sweep
from app.domain.lifecycle.runs import delete_runs
from app.errors import NotFound
from app.store.feedback_analytics import StatsFilter
from tests.analytics.test_rollups import THRESHOLDS, random_score, setup_keys
from tests.commands import CommandRecorder
from tests.conftest import GraphQLClient, Keys
from tests.pipelines_support import CHANGE, give, make_runs, services, written_at
from tests.test_retention import SET_RETENTION, seeded

__all__ = ["seeded"]  # the retention test's fixture, used here

pytestmark = pytest.mark.record_commands

Row = tuple[str, int, int, int, datetime]


async def oracle(
    app: Starlette,
    project_id: str,
    keys: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    first: int = 100,
) -> list[Row]:
    """The aggregation over raw feedback that worst runs used before tallies."""
    stores = services(app).stores
    rules = await load_rules(stores, project_id, keys)
    rows = await stores.feedback_analytics.run_tallies(
        project_id,
        StatsFilter(keys=keys, since=since, until=until),
        thresholds(rules),
        {k: r.higher_is_better for k, r in rules.items()},
        first,
        default_threshold=UNSEEN_THRESHOLD,
    )
    return [(r.run_id, r.negative, r.positive, r.scored, windows.as_utc(r.last_at)) for r in rows]


async def tallied(
    app: Starlette,
    project_id: str,
    keys: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    first: int = 100,
) -> list[Row]:
    found = await worst_runs(
        services(app).stores,
        project_id,
        keys=keys,
        since=since,
        until=until,
        first=first,
        comments=0,
        buffer=services(app).pipelines.rollups,
    )
    return [(w.run_id, w.negative, w.positive, w.scored, windows.as_utc(w.last_at)) for w in found]


async def assert_same(
    app: Starlette,
    project_id: str,
    keys: list[str] | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Row]:
    got = await tallied(app, project_id, keys, since, until)  # flushes the buffer first
    assert got == await oracle(app, project_id, keys, since, until), (keys, since, until)
    return got


def expected_tallies(db: Any, project_id: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Per (key, grain, bucket, run): recomputed from the raw feedback documents."""
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {"hi": 0, "lo": 0, "n": 0, "at": None, "numbers": []}
    )
    live = {"project_id": project_id, "deleted": False, "retracted": False}
    for doc in db.feedback.find({**live, "score": {"$ne": None}}):
        at = windows.as_utc(doc["created_at"])
        for grain in ("hour", "day"):
            e = out[(doc["key"], grain, windows.floor(at, grain), doc["run_id"])]
            e["n"] += 1
            e["at"] = at if e["at"] is None else max(e["at"], at)
            score = doc["score"]
            if isinstance(score, bool):
                e["hi" if score else "lo"] += 1
            else:
                e["numbers"].append(score)
    return out


def stored_tallies(db: Any, project_id: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {}
    for doc in db.run_tallies.find({"project_id": project_id}):
        t = windows.as_utc(doc["t"])
        for run_id, entry in doc["runs"].items():
            out[(doc["key"], doc["g"], t, run_id)] = {
                "hi": entry.get("hi", 0),
                "lo": entry.get("lo", 0),
                "n": entry.get("n", 0),
                "at": windows.as_utc(entry["at"]) if "at" in entry else None,
                "r": doc.get("r") or [],
                "dirty": doc.get("dirty", False),
            }
    return out


def assert_tallies_match(
    db: Any, project_id: str, settled: dict[str, float | None] | None = None
) -> None:
    """Stored tallies equal a recomputation: counts exactly; high and low against
    the threshold a tally is tagged with (``settled``: must be tagged with these);
    the newest time exactly unless a removal left it to recount (``dirty``)."""
    expected = expected_tallies(db, project_id)
    stored = stored_tallies(db, project_id)
    for ident, want in expected.items():
        got = stored.get(ident)
        assert got is not None, f"missing tally {ident}"
        assert got["n"] == want["n"], ident
        if got["dirty"]:
            assert got.get("at") is None or got["at"] >= want["at"], ident
        else:
            assert got["at"] == want["at"], ident
        numbers = want["numbers"]
        high, low = want["hi"], want["lo"]
        if numbers:
            tags = got["r"]
            if settled is not None:
                threshold = settled[ident[0]]
                assert tags == ["none" if threshold is None else f"t{threshold!r}"], ident
            if len(tags) == 1 and tags[0] != "none":
                limit = float(tags[0][1:])
                high += sum(x > limit for x in numbers)
                low += sum(x < limit for x in numbers)
        assert (got["hi"], got["lo"]) == (high, low), ident
    for ident, got in stored.items():
        if ident not in expected:
            assert (got["n"], got["hi"], got["lo"]) == (0, 0, 0), ident


KEY_SETS: list[list[str] | None] = [None, ["thumbs"], ["rating", "free"], ["cat"]]


async def test_tallies_rank_like_the_aggregation_after_random_changes(
    app: Starlette, keys: Keys, sync_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(20261201)
    pid = keys.project_id
    stores = services(app).stores
    await setup_keys(app, pid)
    runs = await make_runs(app, pid, 12)
    start = datetime(2025, 6, 1, 22, tzinfo=UTC)
    offsets = (0, 1, 3, 26, 27, 50, 75)
    hours = [start + timedelta(hours=h, minutes=rng.randrange(60)) for h in offsets]
    records: list[str] = []
    done: defaultdict[str, int] = defaultdict(int)
    for _ in range(300):
        key = rng.choice(list(THRESHOLDS))
        op = rng.random()
        with written_at(monkeypatch, rng.choice(hours)):
            try:
                if op < 0.5:  # votes (flips) and anonymous records
                    user = f"u{rng.randrange(4)}" if op < 0.35 else None
                    write = FeedbackWrite(
                        run_id=rng.choice(runs), key=key, score=random_score(rng, key), user_id=user
                    )
                    record, _ = await create_feedback(stores, pid, write, CHANGE)
                    records.append(record.id)
                    done["create"] += 1
                elif op < 0.62:
                    write = FeedbackWrite(
                        run_id=rng.choice(runs),
                        key=key,
                        user_id=f"u{rng.randrange(4)}",
                        retract=True,
                    )
                    await create_feedback(stores, pid, write, CHANGE)
                    done["retract"] += 1
                elif op < 0.85 and records:
                    target = rng.choice(records)
                    current = await stores.feedback.get(pid, target)
                    if current is None:
                        continue
                    write = FeedbackWrite(run_id="", key="", score=random_score(rng, current.key))
                    await update_feedback(stores, pid, target, write, CHANGE)
                    done["update"] += 1
                elif records:
                    await delete_feedback(stores, pid, rng.choice(records), CHANGE)
                    done["delete"] += 1
            except NotFound:
                done["not found"] += 1
    assert min(done[k] for k in ("create", "retract", "update", "delete")) > 5

    await services(app).pipelines.rollups.flush()
    assert_tallies_match(sync_db, pid)
    registered = ("thumbs", "rating", "cat")
    dirty_days = {"g": "day", "dirty": True, "key": {"$in": registered}}
    assert sync_db.run_tallies.count_documents(dirty_days) > 0

    day = windows.floor(start, "day")
    spans: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (day, day + timedelta(days=4)),  # whole days
        (start + timedelta(hours=3, minutes=17), start + timedelta(days=2, hours=5, minutes=43)),
        (start + timedelta(minutes=10), start + timedelta(minutes=40)),  # inside an hour
        (start + timedelta(hours=26, minutes=30), None),  # to now
    ]
    ranked = 0
    for since, until in spans:
        for key_set in KEY_SETS:
            ranked += len(await assert_same(app, pid, key_set, since, until))
    assert ranked > 40  # the comparisons compared rankings, not empty lists
    # Reading stored the recounted newest times of the tallies it read (every day
    # tally of the registered keys; the unregistered key's, counted against several
    # thresholds, are recounted on every read until a rebuild).
    assert_tallies_match(sync_db, pid)
    assert sync_db.run_tallies.count_documents(dirty_days) == 0

    # A rebuild from scratch writes the same tallies, each counted against its
    # key's threshold now (the unregistered key's too).
    sync_db.run_tallies.delete_many({"project_id": pid})
    await rebuild_rollups(stores, pid)
    free = (await load_rules(stores, pid, ["free"]))["free"].threshold
    assert_tallies_match(sync_db, pid, settled={**THRESHOLDS, "thumbs": 0.5, "free": free})
    for since, until in spans:
        for key_set in KEY_SETS:
            await assert_same(app, pid, key_set, since, until)


def test_a_rolling_window_reads_raw_feedback_only_for_its_partial_hours() -> None:
    since = datetime(2026, 3, 4, 9, 41, 7, tzinfo=UTC)
    until = datetime(2026, 3, 9, 17, 5, tzinfo=UTC)
    split = pieces(since, until, None)
    raw = [p for p in split if p.source == "raw"]
    assert [(p.since, p.until) for p in raw] == [
        (since, datetime(2026, 3, 4, 10, tzinfo=UTC)),
        (datetime(2026, 3, 9, 17, tzinfo=UTC), until),
    ]
    assert {p.source for p in split} == {"raw", "hour", "day"}
    # Before a retention horizon everything is raw (the sweep does not subtract).
    horizon = datetime(2026, 3, 6, tzinfo=UTC)
    kept = pieces(since, until, horizon)
    assert kept[0].source == "raw" and (kept[0].since, kept[0].until) == (since, horizon)
    assert all(p.source != "raw" or p.since >= horizon for p in kept[1:])  # type: ignore[operator]


async def test_a_window_starting_mid_day_reads_tallies_and_raw_edges(
    app: Starlette, keys: Keys, recorder: CommandRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = keys.project_id
    await setup_keys(app, pid)
    runs = await make_runs(app, pid, 5)
    now = clock.now()
    placed = [
        (timedelta(hours=30), runs[0], False),  # before the window
        (timedelta(hours=23, minutes=59, seconds=30), runs[1], False),  # its first minute
        (timedelta(hours=23, minutes=58), runs[0], True),
        (timedelta(hours=12), runs[2], False),
        (timedelta(hours=12), runs[2], False),
        (timedelta(hours=5), runs[3], False),
        (timedelta(minutes=3), runs[4], False),
        (timedelta(minutes=2), runs[1], True),
    ]
    for ago, run, score in placed:
        with written_at(monkeypatch, now - ago):
            await give(app, pid, run, "thumbs", score)
    since = now - timedelta(hours=24)
    recorder.clear()
    got = await assert_same(app, pid, ["thumbs"], since)
    # runs[2] has two negatives; then by the newest feedback: runs[1] (a negative in
    # the window's first minute, read raw, and a positive now), runs[4], runs[3].
    assert [row[0] for row in got] == [runs[2], runs[1], runs[4], runs[3]]
    assert got[1][1:4] == (1, 1, 2)
    # The feedback itself was read only for the partial hour at the start.
    tallies = [c for c in recorder.on("run_tallies", "find")]
    assert tallies
    spans = [
        stage["$match"]["created_at"]
        for command in recorder.on("feedback", "aggregate")
        for stage in command["pipeline"]
        if "$match" in stage and "created_at" in stage["$match"]
    ]
    # The tallied read (one partial hour), then the oracle (the whole window).
    assert len(spans) == 2
    assert windows.as_utc(spans[0]["$lt"]) - since <= timedelta(hours=1)


async def test_worst_runs_over_whole_days_do_not_aggregate_feedback(
    app: Starlette, gql: GraphQLClient, keys: Keys, recorder: CommandRecorder
) -> None:
    runs = await make_runs(app, keys.project_id, 2)
    await give(app, keys.project_id, runs[0], "thumbs", False)
    await give(app, keys.project_id, runs[1], "thumbs", True)
    month = (windows.floor(clock.now(), "day") - timedelta(days=29)).isoformat()
    recorder.clear()
    found = await gql.ok(
        'query($a: DateTime) { worstRuns(keys: ["thumbs"], after: $a) { runId negative } }',
        {"a": month},
    )
    assert found["worstRuns"] == [{"runId": runs[0], "negative": 1}]
    assert recorder.on("feedback", "aggregate") == []
    assert recorder.on("run_tallies", "find")


async def test_direction_needs_no_recount_and_a_moved_threshold_is_recounted(
    app: Starlette, keys: Keys, sync_db: Any
) -> None:
    pid = keys.project_id
    stores = services(app).stores
    await register_key(
        stores, pid, "rating", KeyConfig(kind="continuous", min=1, max=5, enforced=False)
    )
    runs = await make_runs(app, pid, 4)
    for run, score in ((runs[0], 1), (runs[0], 2), (runs[1], 4), (runs[2], 3.5), (runs[2], 2.5)):
        await give(app, pid, run, "rating", score)
    await give(app, pid, runs[3], "rating", 6.5)
    got = await assert_same(app, pid, ["rating"])
    assert [r[0] for r in got] == [runs[0], runs[2]]

    await register_key(
        stores,
        pid,
        "rating",
        KeyConfig(kind="continuous", min=1, max=5, higher_is_better=False, enforced=False),
    )
    got = await assert_same(app, pid, ["rating"])
    assert [r[0] for r in got] == [runs[3], runs[2], runs[1]]
    assert sync_db.run_tallies.count_documents({"rb": {"$exists": True}}) == 0  # not recounted

    # Threshold 3 -> 5: exact at once (stale buckets recounted from raw when read),
    # then stored by the background recount.
    await register_key(
        stores, pid, "rating", KeyConfig(kind="continuous", min=0, max=10, enforced=False)
    )
    got = await assert_same(app, pid, ["rating"])
    assert [r[0] for r in got] == [runs[2], runs[0], runs[1]]
    await recounts.wait()
    assert_tallies_match(sync_db, pid, settled={"rating": 5.0})
    await assert_same(app, pid, ["rating"])
    await assert_same(app, pid, None)

    # Unregistered: its scores are not all 0/1, so threshold 0 (all high).
    await delete_key(stores, pid, "rating")
    await assert_same(app, pid, None)
    await recounts.wait()
    assert_tallies_match(sync_db, pid, settled={"rating": 0.0})
    assert await assert_same(app, pid, None) == []


async def test_erasure_and_run_deletion_keep_tallies_exact(
    app: Starlette, keys: Keys, sync_db: Any
) -> None:
    pid = keys.project_id
    stores = services(app).stores
    await setup_keys(app, pid)
    runs = await make_runs(app, pid, 4)
    for i, run in enumerate(runs):
        await give(app, pid, run, "thumbs", False, user_id="alice")
        await give(app, pid, run, "rating", 1 + i % 2, user_id="bob")
        await give(app, pid, run, "thumbs", i % 2 == 0, user_id="carol")
    before = await assert_same(app, pid, None)
    assert len(before) == 4

    await erase_end_user(stores, pid, "alice", include_runs=False, by="test")
    assert_tallies_match(sync_db, pid)
    after = await assert_same(app, pid, None)
    assert after != before

    await delete_runs(stores, pid, ids=[runs[0], runs[1]])
    assert_tallies_match(sync_db, pid)
    remaining = await assert_same(app, pid, None)
    assert [r[0] for r in remaining] == [runs[3], runs[2]]
    assert len(await assert_same(app, pid, ["rating"])) == 2


async def test_retention_keeps_worst_runs_equal_to_the_raw_feedback(
    app: Starlette, gql: GraphQLClient, keys: Keys, seeded: dict[str, Any]
) -> None:
    pid = keys.project_id
    old_day = windows.floor(seeded["old"], "day")
    assert [r[0] for r in await assert_same(app, pid, None)] == [seeded["new_run"]]
    await gql.ok(SET_RETENTION, {"days": 30})
    while await sweep(services(app).stores, batch=2):
        pass
    # The expired records are gone from the raw feedback and from worst runs,
    # though the tallies still count them (the sweep does not subtract).
    assert await assert_same(app, pid, None) == []
    assert await assert_same(app, pid, ["helpful"], old_day, old_day + timedelta(days=2)) == []
    await assert_same(app, pid, ["helpful"], old_day + timedelta(hours=5), None)
