"""A deleted feedback record leaves a tombstone: ids, key and times, never content
or history, removed after a bounded time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.applications import Starlette

from app.domain.lifecycle.tombstones import TOMBSTONE_DAYS
from tests.conftest import GraphQLClient, services
from tests.helpers import give_feedback, make_run

# All a tombstone holds: ids, key, times, and its revision.
TOMBSTONE_KEYS = {
    "_id",
    "project_id",
    "run_id",
    "key",
    "deleted",
    "created_at",
    "modified_at",
    "purge_at",
    "rev",
}


async def test_a_tombstone_keeps_no_content_and_expires(gql: GraphQLClient, sync_db: Any) -> None:
    run = await make_run(gql, name="chat")
    record = await give_feedback(
        gql, runId=run, key="helpful", score=1, comment="secret words", userId="u-1"
    )
    await gql.ok("mutation($id: ID!) { deleteFeedback(id: $id) }", {"id": record["id"]})

    tomb = sync_db.feedback.find_one({"_id": record["id"]})
    assert tomb["deleted"] is True
    assert set(tomb) == TOMBSTONE_KEYS
    assert tomb["purge_at"] - tomb["modified_at"] == timedelta(days=TOMBSTONE_DAYS)
    ttl = [i for i in sync_db.feedback.list_indexes() if i["key"].to_dict() == {"purge_at": 1}]
    assert ttl and ttl[0]["expireAfterSeconds"] == 0
    error = await gql.error(
        "mutation($i: FeedbackInput!) { createFeedback(input: $i) { id } }",
        {"i": {"id": record["id"], "runId": run, "key": "helpful", "score": 0}},
    )
    assert error["extensions"]["code"] == "CONFLICT"


async def test_old_tombstones_are_reduced_by_the_first_sweep(
    app: Starlette, gql: GraphQLClient, sync_db: Any
) -> None:
    """A tombstone an earlier version left (content, history, no purge_at)."""
    run = await make_run(gql, name="chat")
    record = await give_feedback(gql, runId=run, key="helpful", score=1, comment="old words")
    sync_db.feedback.update_one({"_id": record["id"]}, {"$set": {"deleted": True}})
    live = await give_feedback(gql, runId=run, key="other", score=1, comment="kept words")
    sweeper = services(app).retention
    assert not sweeper.old_tombstones_done

    await sweeper.step()

    tomb = sync_db.feedback.find_one({"_id": record["id"]})
    assert set(tomb) == TOMBSTONE_KEYS
    assert sync_db.feedback.find_one({"_id": live["id"]})["comment"] == "kept words"
    assert sweeper.old_tombstones_done
