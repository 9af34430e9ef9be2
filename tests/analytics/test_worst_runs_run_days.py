"""Worst runs over long windows walk the runs' day tallies (app/store/run_days.py)
and stop early; they must give exactly what the aggregation over raw feedback
gives (the oracle of tests/analytics/test_worst_runs_tallies.py) for every
``first``, not only when the walk reads every run: many runs, most with few
negatives and equal times (ties broken by time, then run id), some inside a
window, some straddling its edges, through random changes, direction and
threshold changes, erasure, run deletion and rebuilds. The stored run days are
checked against a recomputation from the raw documents too."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from app.domain.analytics import recounts, run_day_reads, windows
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.feedback import FeedbackWrite, create_feedback, delete_feedback, update_feedback
from app.domain.feedback_keys import KeyConfig, register_key
from app.domain.lifecycle.erasure import erase_end_user
from app.domain.lifecycle.runs import delete_runs
from app.errors import NotFound
from tests.analytics.test_rollups import random_score, setup_keys
from tests.analytics.test_worst_runs_tallies import Row, oracle, tallied
from tests.commands import CommandRecorder
from tests.conftest import Keys
from tests.pipelines_support import CHANGE, make_runs, services, written_at

pytestmark = pytest.mark.record_commands

DAY0 = datetime(2025, 6, 1, tzinfo=UTC)
KEY_SETS: list[list[str] | None] = [None, ["thumbs"], ["rating", "cat"], ["cat"], ["free"]]
FIRSTS = (1, 3, 10)


def spans() -> list[tuple[datetime | None, datetime | None]]:
    d = DAY0
    return [
        (None, None),
        (d, d + timedelta(days=10)),  # whole days, every record
        (d + timedelta(days=2), d + timedelta(days=7)),  # whole days, runs straddle
        (d + timedelta(days=1, hours=3, minutes=17), d + timedelta(days=8, hours=5, minutes=43)),
        (d + timedelta(days=2, minutes=30), None),  # to now, starting mid-hour
        (d + timedelta(days=3), d + timedelta(days=6)),
    ]


EARLY: list[bool] = []  # per read of run days: whether it stopped before the last run


@pytest.fixture(autouse=True)
def stops(monkeypatch: pytest.MonkeyPatch) -> None:
    walk = run_day_reads._Ranking.walk

    async def walking(self: run_day_reads._Ranking) -> None:
        await walk(self)
        EARLY.append(self.stopped_early)

    monkeypatch.setattr(run_day_reads._Ranking, "walk", walking)
    EARLY.clear()


def walked(recorder: CommandRecorder) -> bool:
    """Whether a read counted runs from their run days, not the run tallies."""
    return any({"lo", "hi"} & set(c["filter"]) for c in recorder.on("run_days", "find"))


async def compare_all(
    app: Starlette,
    pid: str,
    recorder: CommandRecorder,
    key_sets: list[list[str] | None] = KEY_SETS,
    firsts: tuple[int, ...] = FIRSTS,
) -> dict[str, int]:
    """Every window, key set and ``first`` against the oracle; how many read run days
    and how many rows were compared."""
    seen = {"walked": 0, "reads": 0, "rows": 0, "one key": 0}
    for since, until in spans():
        for keys in key_sets:
            for first in firsts:
                recorder.clear()
                got = await tallied(app, pid, keys, since, until, first)
                seen["walked"] += walked(recorder)
                seen["reads"] += 1
                seen["one key"] += keys is not None and len(keys) == 1
                want: list[Row] = await oracle(app, pid, keys, since, until, first)
                assert got == want, (keys, since, until, first)
                seen["rows"] += len(got)
    return seen


def assert_run_days_match(db: Any, project_id: str) -> None:
    """Stored run days equal a recomputation from the raw feedback: scores per day
    and over the lifetime exactly; high and low against the key's one threshold
    (when its documents were counted against one); times exactly unless dirty."""
    days: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"n": 0, "at": None, "scores": []}
    )
    live = {"project_id": project_id, "deleted": False, "retracted": False}
    for doc in db.feedback.find({**live, "score": {"$ne": None}}):
        at = windows.as_utc(doc["created_at"])
        entry = days[(doc["key"], doc["run_id"], at.strftime("%Y%m%d"))]
        entry["n"] += 1
        entry["at"] = at if entry["at"] is None else max(entry["at"], at)
        entry["scores"].append(doc["score"])
    thresholds = {
        d["key"]: d.get("r") or []
        for d in db.run_days.find({"project_id": project_id, "run_id": ""})
    }
    stored = {}
    for doc in db.run_days.find({"project_id": project_id, "run_id": {"$ne": ""}}):
        for day, e in (doc.get("d") or {}).items():
            stored[(doc["key"], doc["run_id"], day)] = (e, doc)
        entries = [e for e in (doc.get("d") or {}).values()]
        for side in ("hi", "lo", "n"):
            assert doc.get(side, 0) == sum(e.get(side, 0) for e in entries), doc
    for ident, want in days.items():
        entry, doc = stored[ident]
        assert entry["n"] == want["n"], ident
        if doc.get("dirty"):
            assert windows.as_utc(entry["at"]) >= want["at"], ident
        else:
            assert windows.as_utc(entry["at"]) == want["at"], ident
        tags = thresholds.get(ident[0], [])
        limit = float(tags[0][1:]) if len(tags) == 1 else None
        if limit is None and any(not isinstance(x, bool) for x in want["scores"]):
            continue
        high = sum(
            x > limit if limit is not None and not isinstance(x, bool) else x is True
            for x in want["scores"]
        )
        low = sum(
            x < limit if limit is not None and not isinstance(x, bool) else x is False
            for x in want["scores"]
        )
        assert (entry.get("hi", 0), entry.get("lo", 0)) == (high, low), ident
    for ident, (entry, _) in stored.items():
        if ident not in days:
            assert (entry.get("n", 0), entry.get("hi", 0), entry.get("lo", 0)) == (0, 0, 0)


async def random_feedback(
    app: Starlette, pid: str, runs: list[str], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Creates (votes that flip, anonymous records), retractions, updates and deletes
    on 48 runs over ten days: most runs within a few hours of their own start,
    some at any time; times on the half hour, so many runs tie on their newest."""
    rng = random.Random(seed)
    stores = services(app).stores
    starts = {r: DAY0 + timedelta(hours=rng.randrange(240)) for r in runs}
    spread = set(rng.sample(runs, 10))
    records: list[str] = []
    for _ in range(500):
        run = rng.choice(runs)
        if run in spread:
            at = DAY0 + timedelta(minutes=30 * rng.randrange(480))
        else:
            at = starts[run] + timedelta(minutes=30 * rng.randrange(12))
        key = rng.choice(["thumbs", "thumbs", "rating", "cat", "free"])
        op = rng.random()
        with written_at(monkeypatch, at):
            try:
                if op < 0.6:
                    user = f"u{rng.randrange(5)}" if op < 0.45 else None
                    score = random_score(rng, key)
                    write = FeedbackWrite(run_id=run, key=key, score=score, user_id=user)
                    record, _ = await create_feedback(stores, pid, write, CHANGE)
                    records.append(record.id)
                elif op < 0.7:
                    user = f"u{rng.randrange(5)}"
                    write = FeedbackWrite(run_id=run, key=key, user_id=user, retract=True)
                    await create_feedback(stores, pid, write, CHANGE)
                elif op < 0.9 and records:
                    target = rng.choice(records)
                    current = await stores.feedback.get(pid, target)
                    if current is None:
                        continue
                    write = FeedbackWrite(run_id="", key="", score=random_score(rng, current.key))
                    await update_feedback(stores, pid, target, write, CHANGE)
                elif records:
                    await delete_feedback(stores, pid, rng.choice(records), CHANGE)
            except NotFound:
                pass
    await services(app).pipelines.rollups.flush()


async def test_run_days_rank_like_the_aggregation_for_every_first(
    app: Starlette,
    keys: Keys,
    sync_db: Any,
    recorder: CommandRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = keys.project_id
    stores = services(app).stores
    await setup_keys(app, pid)
    runs = await make_runs(app, pid, 48)
    await random_feedback(app, pid, runs, monkeypatch, seed=19)
    assert_run_days_match(sync_db, pid)
    assert sync_db.run_days.count_documents({"project_id": pid, "dirty": True}) > 0

    seen = await compare_all(app, pid, recorder)
    assert seen["rows"] > 300
    assert sum(EARLY) >= 10  # reads that stopped before the last run: the bound decided
    # Every window has at least three whole days; several keys read the run
    # tallies, and so does the unregistered key: it was counted against two
    # thresholds (boolean until its first number was flushed).
    assert seen["walked"] == len(FIRSTS) * 6 * 2  # thumbs, cat
    assert_run_days_match(sync_db, pid)  # recounted times stored, still exact

    # A rebuild settles the unregistered key's threshold: every key walks.
    await rebuild_rollups(stores, pid)
    assert_run_days_match(sync_db, pid)
    seen = await compare_all(app, pid, recorder)
    assert seen["walked"] == seen["one key"] > 0

    # The direction is applied when reading: the other side's index is walked.
    rating = KeyConfig(kind="continuous", min=1, max=5, higher_is_better=False)
    await register_key(stores, pid, "rating", rating)
    await compare_all(app, pid, recorder, [["rating"], ["rating", "cat"]], (1, 5))
    recorder.clear()
    await tallied(app, pid, ["rating"], None, None, 3)
    walks = [c for c in recorder.on("run_days", "find") if {"lo", "hi"} & set(c["filter"])]
    assert walks and all("hi" in c["filter"] for c in walks)

    # A moved threshold: the run tallies (recounted) until the background rebuild.
    await register_key(stores, pid, "rating", KeyConfig(kind="continuous", min=0, max=10))
    recorder.clear()
    assert await tallied(app, pid, ["rating"], None, None, 3) == await oracle(
        app, pid, ["rating"], None, None, 3
    )
    assert not walked(recorder)
    await recounts.wait()
    assert_run_days_match(sync_db, pid)
    seen = await compare_all(app, pid, recorder, [None, ["rating"]], (1, 5))
    assert seen["walked"] == seen["one key"] > 0


async def test_removals_and_rebuilds_keep_run_days_exact(
    app: Starlette,
    keys: Keys,
    sync_db: Any,
    recorder: CommandRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = keys.project_id
    stores = services(app).stores
    await setup_keys(app, pid)
    runs = await make_runs(app, pid, 48)
    await random_feedback(app, pid, runs, monkeypatch, seed=7)
    await rebuild_rollups(stores, pid)

    await erase_end_user(stores, pid, "u1", include_runs=False, by="test")
    assert_run_days_match(sync_db, pid)
    await delete_runs(stores, pid, ids=runs[:6])
    assert_run_days_match(sync_db, pid)
    assert (
        sync_db.run_days.count_documents(
            {"project_id": pid, "run_id": {"$in": runs[:6]}, "n": {"$gt": 0}}
        )
        == 0
    )
    seen = await compare_all(app, pid, recorder)
    assert seen["walked"] == seen["one key"] > 0 and seen["rows"] > 250

    # Written before run days existed (an upgrade): the run tallies are read until
    # a rebuild writes them all.
    sync_db.run_days.delete_many({"project_id": pid})
    seen = await compare_all(app, pid, recorder, [None, ["thumbs"]], (3,))
    assert seen["walked"] == 0
    await rebuild_rollups(stores, pid)
    assert_run_days_match(sync_db, pid)
    seen = await compare_all(app, pid, recorder, [None, ["thumbs"]], (3,))
    assert seen["walked"] == seen["one key"] > 0


async def test_a_new_key_is_walked_from_its_first_write_and_an_old_one_is_not(
    app: Starlette, keys: Keys, recorder: CommandRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = keys.project_id
    stores = services(app).stores
    runs = await make_runs(app, pid, 3)
    for i, run in enumerate(runs):
        with written_at(monkeypatch, DAY0 + timedelta(days=i)):
            await create_feedback(
                stores, pid, FeedbackWrite(run_id=run, key="new", score=False), CHANGE
            )
    window = (DAY0, DAY0 + timedelta(days=5))
    recorder.clear()
    got = await tallied(app, pid, ["new"], *window, 2)
    assert got == await oracle(app, pid, ["new"], *window, 2)
    assert [row[0] for row in got] == [runs[2], runs[1]]
    assert walked(recorder)
