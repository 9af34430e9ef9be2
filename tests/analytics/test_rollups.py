"""Rollups stay equal to a recomputation from raw feedback, through creates,
flips, retractions, updates and deletes; min/max recounts; batching; rebuilds."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from pymongo.errors import AutoReconnect
from starlette.applications import Starlette

from app.cli import main as cli
from app.domain.analytics import windows
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.feedback import (
    FeedbackWrite,
    create_feedback,
    delete_feedback,
    update_feedback,
)
from app.domain.feedback_keys import KeyConfig, register_key
from app.errors import NotFound
from app.main import create_app
from app.settings import Settings
from app.store.feedback_rollups import FeedbackRollupStore, RollupDelta, RollupId
from app.store.score_bins import as_number, bin_key
from tests.analytics.test_stats import both, stats
from tests.commands import CommandRecorder
from tests.conftest import SECRET, GraphQLClient, Keys, make_project
from tests.pipelines_support import CHANGE, give, make_runs, services, written_at

pytestmark = pytest.mark.record_commands

THRESHOLDS = {"thumbs": None, "rating": 3.0, "free": 0.0, "cat": 1.0}


def expected_rollups(db: Any, project_id: str) -> dict[tuple[str, str, datetime], dict[str, Any]]:
    """Rollups recomputed independently from the raw feedback documents."""
    out: dict[tuple[str, str, datetime], dict[str, Any]] = defaultdict(
        lambda: {
            "c": 0,
            "n": 0,
            "cm": 0,
            "s": 0.0,
            "q": 0.0,
            "hi": 0,
            "lo": 0,
            "bt": 0,
            "bf": 0,
            "h": Counter(),
            "mn": None,
            "mx": None,
            "numbers": [],
        }
    )
    for doc in db.feedback.find({"project_id": project_id, "deleted": False, "retracted": False}):
        for grain in ("hour", "day"):
            r = out[(doc["key"], grain, windows.floor(doc["created_at"], grain))]
            r["c"] += 1
            r["cm"] += 1 if doc.get("comment") else 0
            score = doc.get("score")
            if score is None:
                continue
            value = as_number(score)
            r["n"] += 1
            r["s"] += value
            r["q"] += value * value
            r["h"][bin_key(value)] += 1
            r["mn"] = value if r["mn"] is None else min(r["mn"], value)
            r["mx"] = value if r["mx"] is None else max(r["mx"], value)
            if isinstance(score, bool):
                r["bt" if score else "bf"] += 1
                r["hi" if score else "lo"] += 1
            else:
                r["numbers"].append(score)
    return out


def sides(want: dict[str, Any], threshold: float) -> tuple[int, int]:
    """(hi, lo) of a recomputed rollup against ``threshold``."""
    numbers = want["numbers"]
    return (
        want["hi"] + sum(x > threshold for x in numbers),
        want["lo"] + sum(x < threshold for x in numbers),
    )


def stored_rollups(db: Any, project_id: str) -> dict[tuple[str, str, datetime], dict[str, Any]]:
    """Rollup documents, each with its histogram (stored beside it) as "h"."""
    docs = list(db.feedback_rollups.find({"project_id": project_id}))
    hists = {
        (d["key"], d["g"].removesuffix("_hist"), windows.as_utc(d["t"])): d.get("h", {})
        for d in docs
        if d["g"].endswith("_hist")
    }
    return {
        (d["key"], d["g"], windows.as_utc(d["t"])): {
            **d,
            "h": hists.get((d["key"], d["g"], windows.as_utc(d["t"])), {}),
        }
        for d in docs
        if not d["g"].endswith("_hist")
    }


def assert_rollups_match(
    db: Any, project_id: str, *, exact_extremes: bool, settled: bool = False
) -> None:
    """Stored rollups equal a recomputation. High and low are counted against the
    threshold a rollup is tagged with (``r``); on the write path an unregistered
    key's threshold follows what its scores looked like at the time, so its rollups
    may carry several (reads then classify them from the histogram). ``settled``:
    every rollup must be counted against its key's threshold now (a rebuild)."""
    expected = expected_rollups(db, project_id)
    stored = stored_rollups(db, project_id)
    for ident, want in expected.items():
        got = stored.get(ident)
        assert got is not None, f"missing rollup {ident}"
        for name in ("c", "n", "cm", "bt", "bf"):
            assert got.get(name, 0) == want[name], (ident, name)
        threshold = THRESHOLDS[ident[0]]
        tags = got.get("r") or []
        if want["numbers"]:
            assert threshold is not None
            if settled or ident[0] != "free":
                assert tags == [f"t{threshold!r}"], (ident, tags)
            if len(tags) == 1:
                assert (got.get("hi", 0), got.get("lo", 0)) == sides(want, float(tags[0][1:]))
        else:
            assert (got.get("hi", 0), got.get("lo", 0)) == (want["hi"], want["lo"]), ident
        assert got.get("s", 0) == pytest.approx(want["s"], abs=1e-9), ident
        assert got.get("q", 0) == pytest.approx(want["q"], abs=1e-9), ident
        assert {k: n for k, n in got.get("h", {}).items() if n} == dict(want["h"]), ident
        if want["n"] == 0:
            continue
        if exact_extremes or not got.get("dirty"):
            assert (got["mn"], got["mx"]) == (want["mn"], want["mx"]), ident
        else:  # not yet recounted: bounds that hold the true extremes
            assert got["mn"] <= want["mn"] and got["mx"] >= want["mx"], ident
    for ident, got in stored.items():
        if ident not in expected:
            assert not any(got.get(n, 0) for n in ("c", "n", "cm", "hi", "lo")), ident


async def setup_keys(app: Starlette, project_id: str) -> None:
    stores = services(app).stores
    await register_key(stores, project_id, "thumbs", KeyConfig(kind="boolean"))
    await register_key(stores, project_id, "rating", KeyConfig(kind="continuous", min=1, max=5))
    await register_key(
        stores,
        project_id,
        "cat",
        KeyConfig(kind="categorical", categories=[(0, "bad"), (1, "ok"), (2, "good")]),
    )


def random_score(rng: random.Random, key: str) -> Any:
    if rng.random() < 0.1:
        return None
    if key == "thumbs":
        return rng.random() < 0.6
    if key == "rating":
        return rng.choice([1, 2, 3, 4, 5, 2.5, 4.75, 3.14159])
    if key == "cat":
        return rng.choice([0, 1, 2])
    return rng.choice([-2.5, -1, 0, 0.001234, 1, 7.5, 1234.5678])


async def test_rollups_equal_recomputation_after_random_changes(
    app: Starlette,
    gql: GraphQLClient,
    keys: Keys,
    sync_db: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(20250601)
    pid = keys.project_id
    stores = services(app).stores
    await setup_keys(app, pid)
    runs = await make_runs(app, pid, 6)
    start = datetime(2025, 6, 1, 22, tzinfo=UTC)
    hours = [start + timedelta(hours=h, minutes=rng.randrange(60)) for h in (0, 1, 3, 26, 27, 50)]
    records: list[str] = []
    counts: Counter[str] = Counter()
    for _ in range(220):
        key = rng.choice(list(THRESHOLDS))
        op = rng.random()
        with written_at(monkeypatch, rng.choice(hours)):
            try:
                if op < 0.45:  # a vote: an upsert per (run, key, user): flips
                    write = FeedbackWrite(
                        run_id=rng.choice(runs),
                        key=key,
                        score=random_score(rng, key),
                        user_id=f"u{rng.randrange(4)}",
                    )
                    if rng.random() < 0.3:
                        write.comment = rng.choice(["", "meh", "great"])
                    record, _ = await create_feedback(stores, pid, write, CHANGE)
                    records.append(record.id)
                    counts["vote"] += 1
                elif op < 0.6:  # anonymous: always a new record
                    write = FeedbackWrite(
                        run_id=rng.choice(runs), key=key, score=random_score(rng, key)
                    )
                    record, _ = await create_feedback(stores, pid, write, CHANGE)
                    records.append(record.id)
                    counts["anonymous"] += 1
                elif op < 0.72:
                    write = FeedbackWrite(
                        run_id=rng.choice(runs),
                        key=key,
                        user_id=f"u{rng.randrange(4)}",
                        retract=True,
                    )
                    await create_feedback(stores, pid, write, CHANGE)
                    counts["retract"] += 1
                elif op < 0.88 and records:
                    target = rng.choice(records)
                    current = await stores.feedback.get(pid, target)
                    if current is None:
                        continue
                    write = FeedbackWrite(run_id="", key="")
                    if rng.random() < 0.7:
                        write.score = random_score(rng, current.key)
                    else:
                        write.comment = rng.choice(["edited", ""])
                    await update_feedback(stores, pid, target, write, CHANGE)
                    counts["update"] += 1
                elif records:
                    await delete_feedback(stores, pid, rng.choice(records), CHANGE)
                    counts["delete"] += 1
            except NotFound:
                counts["not found"] += 1
    assert min(counts[k] for k in ("vote", "anonymous", "retract", "update", "delete")) > 5

    await services(app).pipelines.rollups.flush()
    assert_rollups_match(sync_db, pid, exact_extremes=False)
    assert any(d.get("dirty") for d in stored_rollups(sync_db, pid).values())

    # Reading recounts dirty min/max; rollups and aggregation agree on everything.
    first_day = windows.floor(start, "day")
    window = {"after": first_day.isoformat(), "before": (first_day + timedelta(days=4)).isoformat()}
    for bucket in ("HOUR", "DAY"):
        await both(gql, window, [{"dimension": "KEY"}, {"dimension": "TIME", "bucket": bucket}])
    assert_rollups_match(sync_db, pid, exact_extremes=True)
    assert not any(d.get("dirty") for d in stored_rollups(sync_db, pid).values())

    # A rebuild from scratch writes the same rollups.
    sync_db.feedback_rollups.delete_many({"project_id": pid})
    await rebuild_rollups(stores, pid)
    assert_rollups_match(sync_db, pid, exact_extremes=True, settled=True)


async def test_removing_the_max_recounts_it(
    app: Starlette, gql: GraphQLClient, keys: Keys, sync_db: Any
) -> None:
    runs = await make_runs(app, keys.project_id, 3)
    await give(app, keys.project_id, runs[0], "rating", 2)
    await give(app, keys.project_id, runs[1], "rating", 3)
    top = await give(app, keys.project_id, runs[2], "rating", 5)
    [before] = (await stats(gql, {"keys": ["rating"]}))["groups"]
    assert (before["min"], before["max"]) == (2, 5)
    await delete_feedback(services(app).stores, keys.project_id, top.id, CHANGE)
    await services(app).pipelines.rollups.flush()
    assert all(d["dirty"] for d in stored_rollups(sync_db, keys.project_id).values())
    [after] = (await stats(gql, {"keys": ["rating"]}))["groups"]
    assert (after["min"], after["max"], after["count"]) == (2, 3, 2)
    # Without a window the read used the day rollup; it is recounted and stored.
    day = sync_db.feedback_rollups.find_one({"key": "rating", "g": "day"})
    assert (day["dirty"], day["mx"]) == (False, 3)
    assert sync_db.feedback_rollups.find_one({"key": "rating", "g": "hour"})["dirty"]
    hourly = await stats(
        gql,
        {"keys": ["rating"], "after": windows.floor(top.created_at, "day").isoformat()},
        [{"dimension": "TIME", "bucket": "HOUR"}],
    )
    assert [g["max"] for g in hourly["groups"] if g["count"]] == [3]
    hour = sync_db.feedback_rollups.find_one({"key": "rating", "g": "hour"})
    assert (hour["dirty"], hour["mx"]) == (False, 3)


async def test_registering_a_range_later_reclassifies(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    runs = await make_runs(app, keys.project_id, 3)
    for run, score in zip(runs, [1, 2, 5], strict=True):
        await give(app, keys.project_id, run, "stars", score)
    [unregistered] = (await both(gql, {"keys": ["stars"]}))["groups"]
    assert (unregistered["positive"], unregistered["negative"]) == (3, 0)  # all above 0
    await register_key(
        services(app).stores, keys.project_id, "stars", KeyConfig(kind="continuous", min=1, max=5)
    )
    [registered] = (await both(gql, {"keys": ["stars"]}))["groups"]
    assert (registered["positive"], registered["negative"]) == (1, 2)  # against 3


def rollup_writes(commands: CommandRecorder) -> list[int]:
    """The size of each update command sent to the rollups."""
    return [len(c.get("updates", [])) for c in commands.on("feedback_rollups", "update")]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No timed flushes: this module's tests flush by hand.
    return replace(settings, rollup_flush_seconds=3600)


async def test_a_burst_of_feedback_is_one_bulk_write(
    app: Starlette, gql: GraphQLClient, keys: Keys, recorder: CommandRecorder
) -> None:
    runs = await make_runs(app, keys.project_id, 40)
    for run in runs:
        await give(app, keys.project_id, run, "thumbs", True)
    assert rollup_writes(recorder) == []  # nothing written on the write path itself
    await services(app).pipelines.rollups.flush()
    # 40 feedback records in one hour: one bulk write, with one upsert for the
    # hour and one for the day, and one for each one's histogram.
    assert rollup_writes(recorder) == [4]
    [group] = (await stats(gql, {"keys": ["thumbs"]}))["groups"]
    assert group["count"] == 40


async def test_cli_rebuild(
    app: Starlette, gql: GraphQLClient, keys: Keys, sync_db: Any, mongo_uri: str, db_name: str
) -> None:
    runs = await make_runs(app, keys.project_id, 3)
    for run, score in zip(runs, [1, 4, 5], strict=True):
        await give(app, keys.project_id, run, "rating", score)
    await services(app).pipelines.rollups.flush()
    sync_db.feedback_rollups.delete_many({})
    assert (await stats(gql, {"keys": ["rating"]}))["groups"] == []
    env = {"MONGODB_URI": mongo_uri, "PLAUDIT_DB": db_name, "PLAUDIT_SECRET_KEYS": SECRET}
    # The CLI runs its own event loop: give it a thread.
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["rollups", "rebuild", "--project", "acme"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "acme: 2 rollups rebuilt" in result.output  # one hour, one day
    [group] = (await stats(gql, {"keys": ["rating"]}))["groups"]
    assert (group["count"], group["mean"]) == (3, pytest.approx(10 / 3))
    missing = await asyncio.to_thread(
        CliRunner().invoke, cli, ["rollups", "rebuild", "--project", "nope"], env=env
    )
    assert missing.exit_code != 0 and "no project named 'nope'" in missing.output


async def test_pending_rollups_are_flushed_at_shutdown(settings: Settings, sync_db: Any) -> None:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        keys = await make_project(application, "acme")
        runs = await make_runs(application, keys.project_id, 2)
        for run in runs:
            await give(application, keys.project_id, run, "thumbs", True)
        assert services(application).pipelines.rollups.pending == 2  # its hour and day
        assert services(application).pipelines.rollups.pending_tallies >= 2
        assert sync_db.feedback_rollups.count_documents({}) == 0
        assert sync_db.run_tallies.count_documents({}) == 0
    # The app stopped without a timed flush (the interval is an hour here).
    day = sync_db.feedback_rollups.find_one({"g": "day"})
    assert (day["c"], day["bt"]) == (2, 2)
    tallied = {
        run_id: entry["hi"]
        for doc in sync_db.run_tallies.find({"g": "day"})
        for run_id, entry in doc["runs"].items()
    }
    assert tallied == {run: 1 for run in runs}


class FailOnce:
    """The real rollup store, except that its first write fails."""

    def __init__(self, store: FeedbackRollupStore) -> None:
        self.store = store
        self.calls = 0

    async def apply(self, deltas: dict[RollupId, RollupDelta]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise AutoReconnect("connection lost")
        await self.store.apply(deltas)


async def test_a_failed_flush_keeps_its_deltas_for_the_next(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    buffer = services(app).pipelines.rollups
    failing = FailOnce(buffer.rollups)
    buffer.rollups = failing  # type: ignore[assignment]
    runs = await make_runs(app, keys.project_id, 3)
    for run in runs:
        await give(app, keys.project_id, run, "rating", 4)
    with pytest.raises(AutoReconnect):
        await buffer.flush()
    assert buffer.pending == 2
    await buffer.flush()
    assert failing.calls == 2 and buffer.pending == 0
    [group] = (await stats(gql, {"keys": ["rating"]}))["groups"]
    assert (group["count"], group["mean"]) == (3, 4)


async def test_groups_beyond_the_limit_are_reported_truncated(
    app: Starlette, gql: GraphQLClient, keys: Keys
) -> None:
    runs = await make_runs(app, keys.project_id, 3)
    for i, run in enumerate(runs):
        await give(app, keys.project_id, run, "thumbs", True, user_id=f"user{i}")
    query = """query($limit: Int!) { feedbackStats(groupBy: [{dimension: USER}], limit: $limit) {
        truncated groups { userId } } }"""
    cut = (await gql.ok(query, {"limit": 2}))["feedbackStats"]
    assert cut["truncated"] is True and len(cut["groups"]) == 2
    whole = (await gql.ok(query, {"limit": 3}))["feedbackStats"]
    assert whole["truncated"] is False
    assert {g["userId"] for g in whole["groups"]} == {"user0", "user1", "user2"}
