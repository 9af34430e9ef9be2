"""Erasing an end user: seed their data everywhere it can go, erase, search every
collection for their id and their text."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette

from tests.conftest import GraphQLClient, Keys, services
from tests.helpers import give_feedback
from tests.task_helpers import create_task, ingest, submit
from tests.test_tombstones import TOMBSTONE_KEYS

USER = "erase-me-5f2c"
TEXT = "my very private words 8d41"
OTHER = "keep-me-91ab"

ERASE = """
mutation($u: String!, $runs: Boolean!) {
  eraseEndUser(userId: $u, includeRuns: $runs) { id kind by at counts { collection count } }
}"""


async def _seed(gql: GraphQLClient) -> dict[str, Any]:
    """The user's data in every collection that can hold it, and another user's."""
    await gql.ok(
        'mutation { createWebhook(url: "https://hooks.example.com/x") { webhook { id } } }'
    )
    own_run, other_run, third_run = await ingest(
        gql,
        {"name": "chat", "userId": USER, "inputs": {"q": TEXT}, "tags": ["review"]},
        {"name": "chat", "userId": OTHER, "inputs": {"q": "hello"}, "tags": ["review"]},
        {"name": "chat", "userId": OTHER, "inputs": {"q": "again"}, "tags": ["review"]},
    )
    mine = await give_feedback(
        gql, runId=other_run, key="helpful", score=1, comment=TEXT, correction=TEXT, userId=USER
    )
    await gql.ok(
        "mutation($id: ID!) { updateFeedback(id: $id, input: {comment: $c}) { id } }".replace(
            "$c", json.dumps(TEXT + " edited")
        ),
        {"id": mine["id"]},
    )
    deleted = await give_feedback(gql, runId=third_run, key="helpful", score=0, userId=USER)
    await gql.ok("mutation($id: ID!) { deleteFeedback(id: $id) }", {"id": deleted["id"]})
    theirs = await give_feedback(gql, runId=other_run, key="helpful", score=0, userId=OTHER)
    on_own_run = await give_feedback(gql, runId=own_run, key="helpful", score=1, userId=OTHER)
    await gql.ok(
        "mutation($r: ID!, $o: JSON) { recordSignal(runId: $r, kind: EDIT, editedOutput: $o,"
        " userId: $u) { id } }".replace("$u", json.dumps(USER)),
        {"r": other_run, "o": TEXT},
    )
    await gql.ok(
        'mutation($a: ID!, $b: ID!, $u: String, $c: String) { logPreference(key: "pref",'
        " preferredRunId: $a, otherRunId: $b, userId: $u, comment: $c) { id } }",
        {"a": other_run, "b": third_run, "u": USER, "c": TEXT},
    )
    task = await create_task(gql, tags=["review"], reviews=2)
    await submit(
        gql,
        task["id"],
        other_run,
        {"Coherence": 5, "Faithful": True, "Notes": TEXT},
        comment=TEXT,
        user=USER,
    )
    claimed = await gql.ok(
        "mutation($t: ID!, $u: String) { claimReview(taskId: $t, userId: $u) { run { id } } }",
        {"t": task["id"], "u": USER},
    )
    assert claimed["claimReview"] is not None
    await gql.ok(
        "mutation($i: [FeedbackTokenInput!]!) { createFeedbackTokens(inputs: $i) { token } }",
        {"i": [{"runId": other_run, "key": "helpful", "endUserId": USER}]},
    )
    await gql.ok(
        "mutation($t: ID!, $r: String) { createReviewerLink(taskId: $t, reviewer: $r) { url } }",
        {"t": task["id"], "r": USER},
    )
    return {
        "own_run": own_run,
        "other_run": other_run,
        "theirs": theirs["id"],
        "on_own_run": on_own_run["id"],
        "mine": mine["id"],
    }


def _mentions(sync_db: Any, *needles: str) -> list[str]:
    """Every document, in every collection, whose stored form contains a needle."""
    found = []
    for name in sync_db.list_collection_names():
        for doc in sync_db[name].find():
            text = json.dumps(doc, default=str)
            found += [f"{name}: {text[:300]}" for n in needles if n in text]
    return found


async def test_erasure_leaves_nothing_of_the_user(
    app: Starlette, gql: GraphQLClient, sync_db: Any
) -> None:
    seeded = await _seed(gql)
    await services(app).pipelines.rollups.flush()
    reached = {m.split(":")[0] for m in _mentions(sync_db, USER)}
    assert reached == {  # the seeding reached everywhere a user id can go
        "runs",
        "feedback",
        "feedback_group_buckets",  # statistics grouped by user
        "signals",
        "preferences",
        "task_submissions",
        "review_states",
        "feedback_tokens",
        "reviewer_links",
        "webhook_deliveries",
    }
    assert _mentions(sync_db, TEXT)

    data = await gql.ok(ERASE, {"u": USER, "runs": True})

    assert _mentions(sync_db, USER, TEXT) == []
    receipt = data["eraseEndUser"]
    counts = {c["collection"]: c["count"] for c in receipt["counts"]}
    assert receipt["kind"] == "end_user_with_runs"
    assert receipt["by"].startswith("key:")
    # Its own run and the other user's feedback on it; the user's live feedback and
    # their task submission's metric records (Coherence, Faithful). Their deleted
    # feedback was already a tombstone holding nothing of them.
    assert counts["runs"] == 1
    assert counts["feedback"] == 1 + 3
    for name in ("signals", "preferences", "task_submissions", "feedback_tokens"):
        assert counts[name] == 1, name
    assert counts["reviewer_links"] == 1
    assert counts["review_states"] >= 1
    assert counts["webhook_deliveries"] >= 1
    # The other user's feedback on a run that stays is kept.
    kept = sync_db.feedback.find_one({"_id": seeded["theirs"]})
    assert kept is not None and kept["deleted"] is False
    assert sync_db.feedback.find_one({"_id": seeded["on_own_run"]}) is None
    # A tombstone keeps ids and times only, and a retried create is still refused.
    tomb = sync_db.feedback.find_one({"_id": seeded["mine"]})
    assert set(tomb) == TOMBSTONE_KEYS
    error = await gql.error(
        "mutation($i: FeedbackInput!) { createFeedback(input: $i) { id } }",
        {"i": {"id": seeded["mine"], "runId": seeded["other_run"], "key": "helpful", "score": 1}},
    )
    assert error["extensions"]["code"] == "CONFLICT"
    # The receipt is kept (it holds nothing of the user: searched above).
    listed = await gql.ok("{ erasureReceipts { id kind by counts { collection count } } }")
    assert listed["erasureReceipts"] == [{k: receipt[k] for k in ("id", "kind", "by", "counts")}]


async def test_erasure_recomputes_rollups_and_review_counts(
    app: Starlette, gql: GraphQLClient, sync_db: Any
) -> None:
    (run,) = await ingest(gql, {"name": "chat", "tags": ["review"]})
    await give_feedback(gql, runId=run, key="helpful", score=1, userId=USER)
    await give_feedback(gql, runId=run, key="helpful", score=0.5, userId=OTHER)
    task = await create_task(gql, tags=["review"], reviews=2)
    await submit(gql, task["id"], run, {"Coherence": 5, "Faithful": True}, user=USER)
    await submit(gql, task["id"], run, {"Coherence": 3, "Faithful": False}, user=OTHER)
    await services(app).pipelines.rollups.flush()
    day = sync_db.feedback_rollups.find_one({"key": "helpful", "g": "day"})
    assert (day["c"], day["s"]) == (2, 1.5)

    await gql.ok(ERASE, {"u": USER, "runs": False})

    day = sync_db.feedback_rollups.find_one({"key": "helpful", "g": "day"})
    assert (day["c"], day["s"]) == (1, 0.5)
    coherence = sync_db.feedback_rollups.find_one({"key": f"{task['name']}.Coherence", "g": "day"})
    assert coherence is None or (coherence["c"], coherence["s"]) == (1, 3)
    state = sync_db.review_states.find_one({"run_id": run})
    assert state["reviewers"] == [OTHER]
    # The run itself stays: runs go only with includeRuns.
    assert sync_db.runs.count_documents({"_id": run}) == 1


async def test_erasure_needs_an_admin_key_and_a_user_id(gql: GraphQLClient, keys: Keys) -> None:
    error = await gql.as_key(keys.ingest).error(ERASE, {"u": USER, "runs": False})
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(ERASE, {"u": "", "runs": False})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "userId" in error["message"]
    error = await gql.as_key(keys.read).error("{ erasureReceipts { id } }")
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error("{ erasureReceipts(first: 0) { id } }")
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_erasing_twice_finds_nothing_the_second_time(gql: GraphQLClient) -> None:
    (run,) = await ingest(gql, {"name": "chat"})
    await give_feedback(gql, runId=run, key="helpful", score=1, userId=USER)
    first = await gql.ok(ERASE, {"u": USER, "runs": False})
    second = await gql.ok(ERASE, {"u": USER, "runs": False})
    assert {c["collection"] for c in first["eraseEndUser"]["counts"]} == {"feedback"}
    assert second["eraseEndUser"]["counts"] == []
