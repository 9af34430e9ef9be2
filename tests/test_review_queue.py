"""The review queue: selector, reviews required, leases, concurrent claims."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import GraphQLClient, Keys
from tests.task_helpers import create_task, ingest, submit

QUEUE = """
query($task: ID!, $first: Int, $after: String, $reviewer: String) {
  reviewQueue(taskId: $task, first: $first, after: $after, reviewer: $reviewer) {
    nodes { run { id } reviewCount reviewers leasedBy leaseExpiresAt }
    pageInfo { hasNextPage endCursor }
  }
}"""

CLAIM = """
mutation($task: ID!, $user: String) {
  claimReview(taskId: $task, userId: $user) { taskId reviewer leaseExpiresAt run { id } }
}"""

RELEASE = """
mutation($task: ID!, $run: ID!, $user: String) {
  releaseReview(taskId: $task, runId: $run, userId: $user)
}"""

VALUES = {"Coherence": 5, "Faithful": True}


async def queue_ids(gql: GraphQLClient, task_id: str, **variables: Any) -> list[str]:
    data = await gql.ok(QUEUE, {"task": task_id, **variables})
    return [n["run"]["id"] for n in data["reviewQueue"]["nodes"]]


async def claim(gql: GraphQLClient, task_id: str, user: str) -> str | None:
    data = await gql.ok(CLAIM, {"task": task_id, "user": user})
    result = data["claimReview"]
    return result["run"]["id"] if result else None


async def test_queue_lists_matching_runs_oldest_first_with_pages(gql: GraphQLClient) -> None:
    task = await create_task(gql, tags=["summary"])
    runs = await ingest(
        gql,
        {"tags": ["summary"]},
        {"tags": ["chat"]},
        {"tags": ["summary", "x"]},
        {"tags": ["summary"]},
    )
    expected = [runs[0], runs[2], runs[3]]
    assert await queue_ids(gql, task["id"]) == expected

    first = await gql.ok(QUEUE, {"task": task["id"], "first": 2})
    page = first["reviewQueue"]
    assert [n["run"]["id"] for n in page["nodes"]] == expected[:2]
    assert page["pageInfo"]["hasNextPage"] is True
    second = await queue_ids(gql, task["id"], first=2, after=page["pageInfo"]["endCursor"])
    assert second == expected[2:]

    # A run ingested later (but started earlier) joins the queue in start order.
    (early,) = await ingest(gql, {"tags": ["summary"], "startTime": "2025-01-01T00:00:00Z"})
    assert await queue_ids(gql, task["id"]) == [early, *expected]

    error = await gql.error(QUEUE, {"task": task["id"], "after": "garbage"})
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_run_leaves_the_queue_after_reviews_from_distinct_reviewers(
    gql: GraphQLClient,
) -> None:
    task = await create_task(gql, reviews=2)
    run_a, run_b = await ingest(gql, {}, {})
    first = await submit(gql, task["id"], run_a, VALUES, user="ann")
    assert (first["reviewCount"], first["needsReview"]) == (1, True)
    # The same reviewer again does not count twice.
    again = await submit(gql, task["id"], run_a, {**VALUES, "Coherence": 6}, user="ann")
    assert (again["reviewCount"], again["needsReview"]) == (1, True)
    data = await gql.ok(QUEUE, {"task": task["id"]})
    nodes = data["reviewQueue"]["nodes"]
    assert [(n["run"]["id"], n["reviewCount"], n["reviewers"]) for n in nodes] == [
        (run_a, 1, ["ann"]),
        (run_b, 0, []),
    ]
    # ann has reviewed run_a: her view of the queue leaves it out.
    assert await queue_ids(gql, task["id"], reviewer="ann") == [run_b]

    second = await submit(gql, task["id"], run_a, VALUES, user="bob")
    assert (second["reviewCount"], second["needsReview"]) == (2, False)
    assert await queue_ids(gql, task["id"]) == [run_b]

    # Raising reviewsRequired brings the run back; lowering it takes more out.
    await gql.ok(
        "mutation($id: ID!) { updateFeedbackTask(id: $id, reviewsRequired: 3) { id } }",
        {"id": task["id"]},
    )
    assert await queue_ids(gql, task["id"]) == [run_a, run_b]
    await submit(gql, task["id"], run_b, VALUES, user="cy")
    await gql.ok(
        "mutation($id: ID!) { updateFeedbackTask(id: $id, reviewsRequired: 1) { id } }",
        {"id": task["id"]},
    )
    assert await queue_ids(gql, task["id"]) == []


async def test_claims_lease_runs_and_submission_releases_them(gql: GraphQLClient) -> None:
    task = await create_task(gql, reviews=2, lease=300)
    run_a, run_b, run_c = await ingest(gql, {}, {}, {})

    before = datetime.now(UTC)
    data = await gql.ok(CLAIM, {"task": task["id"], "user": "ann"})
    ann_claim = data["claimReview"]
    assert ann_claim["run"]["id"] == run_a
    assert ann_claim["reviewer"] == "ann"
    assert ann_claim["taskId"] == task["id"]
    expires = datetime.fromisoformat(ann_claim["leaseExpiresAt"])
    assert (
        before + timedelta(seconds=299)
        <= expires
        <= before + timedelta(seconds=301) + (datetime.now(UTC) - before)
    )
    # Claiming again while the lease runs gives the same run, not a second one.
    assert await claim(gql, task["id"], "ann") == run_a
    # Another reviewer gets the next run.
    assert await claim(gql, task["id"], "bob") == run_b

    data = await gql.ok(QUEUE, {"task": task["id"]})
    leases = {n["run"]["id"]: n["leasedBy"] for n in data["reviewQueue"]["nodes"]}
    assert leases == {run_a: "ann", run_b: "bob", run_c: None}

    # ann submits: her lease ends; run_a needs a second review, from someone else.
    await submit(gql, task["id"], run_a, VALUES, user="ann")
    assert await claim(gql, task["id"], "ann") == run_c
    assert await claim(gql, task["id"], "cy") == run_a

    # Release gives a run back at once.
    data = await gql.ok(RELEASE, {"task": task["id"], "run": run_b, "user": "bob"})
    assert data["releaseReview"] is True
    data = await gql.ok(RELEASE, {"task": task["id"], "run": run_b, "user": "bob"})
    assert data["releaseReview"] is False
    assert await claim(gql, task["id"], "dan") == run_b
    # Everything is leased now: nothing for a fifth reviewer.
    assert await claim(gql, task["id"], "eve") is None


async def test_an_expired_lease_frees_the_run(gql: GraphQLClient, sync_db: Any) -> None:
    task = await create_task(gql, lease=600)
    (run,) = await ingest(gql, {})
    assert await claim(gql, task["id"], "ann") == run
    assert await claim(gql, task["id"], "bob") is None
    # Move the lease's end into the past, as if ten minutes had gone by.
    result = sync_db["review_states"].update_one(
        {"task_id": task["id"], "run_id": run},
        {"$set": {"lease_until": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    assert result.modified_count == 1
    data = await gql.ok(QUEUE, {"task": task["id"]})
    assert data["reviewQueue"]["nodes"][0]["leasedBy"] is None
    assert await claim(gql, task["id"], "bob") == run
    # ann's lease is gone: her late submission still counts, bob's lease stays.
    await submit(gql, task["id"], run, VALUES, user="ann")
    assert await queue_ids(gql, task["id"]) == []


async def test_concurrent_claims_never_share_a_run(gql: GraphQLClient, keys: Keys) -> None:
    task = await create_task(gql, reviews=1)
    runs = await ingest(gql, *[{} for _ in range(8)])
    reviewers = [f"reviewer-{i}" for i in range(12)]
    ingest_gql = gql.as_key(keys.ingest)
    claimed = await asyncio.gather(*(claim(ingest_gql, task["id"], r) for r in reviewers))
    got = [c for c in claimed if c is not None]
    assert len(got) == 8
    assert sorted(got) == sorted(runs)
    assert claimed.count(None) == 4
    # Every lease is recorded against the reviewer that was told about it.
    data = await gql.ok(QUEUE, {"task": task["id"]})
    holders = {n["run"]["id"]: n["leasedBy"] for n in data["reviewQueue"]["nodes"]}
    assert holders == {run_id: reviewers[i] for i, run_id in enumerate(claimed) if run_id}


async def test_claim_default_reviewer_is_the_api_key(gql: GraphQLClient, keys: Keys) -> None:
    task = await create_task(gql)
    await ingest(gql, {})
    data = await gql.as_key(keys.ingest).ok(CLAIM, {"task": task["id"]})
    assert data["claimReview"]["reviewer"].startswith("key:")
    data = await gql.as_key(keys.read).execute(CLAIM, {"task": task["id"]})
    assert data[1] is not None and data[1][0]["extensions"]["code"] == "FORBIDDEN"
