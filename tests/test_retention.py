"""Per-project retention: expired runs (with what names them) and expired feedback,
signals, preferences and task submissions go, in bounded batches, in the
background; statistics over time still count them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from app import clock
from app.domain.analytics import windows
from app.domain.analytics.rebuild import rebuild_rollups
from app.domain.lifecycle.retention import sweep
from tests.analytics.test_stats import stats
from tests.conftest import GraphQLClient, Keys
from tests.pipelines_support import eventually, give, services, written_at
from tests.task_helpers import ingest

SET_RETENTION = """
mutation($days: Int!) { updateProject(input: {retentionDays: $days}) { retentionDays } }
"""


@pytest.fixture
async def seeded(
    app: Starlette, gql: GraphQLClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Three runs and their feedback 40 days ago, one run now with feedback from
    40 days ago (by its time) and from now."""
    now = clock.now()
    old = now - timedelta(days=40)
    old_runs = await ingest(
        gql, *({"name": "chat", "startTime": old.isoformat()} for _ in range(3))
    )
    (new_run,) = await ingest(gql, {"name": "chat", "startTime": now.isoformat()})
    with written_at(monkeypatch, old):
        old_feedback = [(await give(app, keys.project_id, r, "helpful", 1.0)).id for r in old_runs]
        await give(app, keys.project_id, new_run, "helpful", 0.0)
    kept = await give(app, keys.project_id, new_run, "helpful", 1.0)
    await gql.ok(
        "mutation($r: ID!) { recordSignal(runId: $r, kind: COPY) { id } }", {"r": old_runs[0]}
    )
    await services(app).pipelines.rollups.flush()
    return {
        "old": old,
        "old_runs": old_runs,
        "old_feedback": old_feedback,
        "new_run": new_run,
        "kept": kept.id,
    }


def _old_day(old: datetime) -> dict[str, Any]:
    day = windows.floor(old, "day")
    return {
        "keys": ["helpful"],
        "after": day.isoformat(),
        "before": (day + timedelta(days=1)).isoformat(),
    }


async def test_expired_records_go_in_batches_and_statistics_stay(
    app: Starlette, gql: GraphQLClient, keys: Keys, sync_db: Any, seeded: dict[str, Any]
) -> None:
    before = await stats(gql, _old_day(seeded["old"]))
    assert before["groups"][0]["count"] == 4

    data = await gql.ok(SET_RETENTION, {"days": 30})
    assert data["updateProject"]["retentionDays"] == 30
    stores = services(app).stores
    sweeps = 0
    while await sweep(stores, batch=2):
        sweeps += 1
    assert sweeps >= 2  # three expired runs, two at a time

    assert sync_db.runs.count_documents({"_id": {"$in": seeded["old_runs"]}}) == 0
    assert sync_db.signals.count_documents({}) == 0
    live = list(sync_db.feedback.find({"project_id": keys.project_id}))
    assert [d["_id"] for d in live] == [seeded["kept"]]
    assert sync_db.runs.count_documents({"_id": seeded["new_run"]}) == 1
    # The expired day's statistics are still there, from the rollups; and a rebuild
    # (which recounts from raw feedback) leaves that day alone.
    assert (await stats(gql, _old_day(seeded["old"])))["groups"] == before["groups"]
    await rebuild_rollups(stores, keys.project_id)
    assert (await stats(gql, _old_day(seeded["old"])))["groups"] == before["groups"]


async def test_extremes_of_expired_days_are_not_recounted_from_nothing(
    app: Starlette, gql: GraphQLClient, sync_db: Any, seeded: dict[str, Any]
) -> None:
    # A score changed: the day's min/max are marked for a recount from raw feedback.
    await gql.ok(
        "mutation($id: ID!) { updateFeedback(id: $id, input: {score: 0.5}) { id } }",
        {"id": seeded["old_feedback"][0]},
    )
    await services(app).pipelines.rollups.flush()
    await gql.ok(SET_RETENTION, {"days": 30})
    while await sweep(services(app).stores):
        pass
    assert sync_db.feedback.count_documents({"_id": {"$in": seeded["old_feedback"]}}) == 0

    (group,) = (await stats(gql, _old_day(seeded["old"])))["groups"]
    assert (group["count"], group["min"], group["max"]) == (4, 0.0, 1.0)


async def test_without_retention_nothing_expires(
    app: Starlette, gql: GraphQLClient, keys: Keys, sync_db: Any, seeded: dict[str, Any]
) -> None:
    assert await sweep(services(app).stores) == 0
    await gql.ok(SET_RETENTION, {"days": 30})
    await gql.ok(SET_RETENTION, {"days": 0})  # back to forever
    assert await sweep(services(app).stores) == 0
    assert sync_db.runs.count_documents({"_id": {"$in": seeded["old_runs"]}}) == 3


async def test_the_background_sweeper_removes_expired_records(
    app: Starlette, gql: GraphQLClient, keys: Keys, sync_db: Any, seeded: dict[str, Any]
) -> None:
    await gql.ok(SET_RETENTION, {"days": 30})
    sweeper = services(app).retention
    assert sweeper.background.running
    sweeper.background.wake()

    async def gone() -> bool:
        return sync_db.runs.count_documents({"_id": {"$in": seeded["old_runs"]}}) == 0

    await eventually(gone)


@pytest.mark.parametrize("days", [-1, 36_501])
async def test_a_retention_out_of_range_is_a_clear_error(gql: GraphQLClient, days: int) -> None:
    error = await gql.error(SET_RETENTION, {"days": days})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "retentionDays" in error["message"]
