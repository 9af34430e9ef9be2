"""What the review page asks of the API besides claiming: skipping runs, a
reviewer's progress, and pairs of runs with the same inputs for preferences."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import GraphQLClient
from tests.task_helpers import BASE_TIME, create_task, ingest, submit

CLAIM = """
mutation($task: ID!, $user: String, $skip: [ID!]) {
  claimReview(taskId: $task, userId: $user, skipRunIds: $skip) { run { id } }
}"""
QUEUE = """
query($task: ID!) { reviewQueue(taskId: $task) { nodes { run { id } leasedBy } } }"""
PROGRESS = """
query($task: ID!, $user: String, $since: DateTime) {
  reviewProgress(taskId: $task, userId: $user, since: $since) {
    reviewer remaining remainingCapped done since
  }
}"""
PAIR = """
query($task: ID!, $user: String, $key: String, $skip: [[ID!]!]) {
  reviewPair(taskId: $task, userId: $user, key: $key, skipPairs: $skip) {
    key reviewer first { id inputs outputs } second { id outputs }
  }
}"""
PREFER = """
mutation($key: String!, $a: ID!, $b: ID!, $tied: Tie, $user: String) {
  logPreference(key: $key, preferredRunId: $a, otherRunId: $b, tied: $tied, userId: $user) {
    id tied
  }
}"""
VALUES = {"Coherence": 4, "Faithful": False}


async def claim(gql: GraphQLClient, task_id: str, user: str, skip: list[str]) -> str | None:
    data = await gql.ok(CLAIM, {"task": task_id, "user": user, "skip": skip})
    return data["claimReview"]["run"]["id"] if data["claimReview"] else None


async def test_skipped_runs_are_released_and_passed_over(gql: GraphQLClient) -> None:
    task = await create_task(gql, tags=["summary"])
    runs = await ingest(gql, *[{"tags": ["summary"]} for _ in range(3)])
    assert await claim(gql, task["id"], "ann", []) == runs[0]
    # Without skipping, claiming again hands back the run ann holds.
    assert await claim(gql, task["id"], "ann", []) == runs[0]
    assert await claim(gql, task["id"], "ann", [runs[0]]) == runs[1]
    queue = (await gql.ok(QUEUE, {"task": task["id"]}))["reviewQueue"]["nodes"]
    leases = {n["run"]["id"]: n["leasedBy"] for n in queue}
    assert leases == {runs[0]: None, runs[1]: "ann", runs[2]: None}
    # The skipped run is free for others at once.
    assert await claim(gql, task["id"], "bob", []) == runs[0]
    assert await claim(gql, task["id"], "ann", [runs[0], runs[1]]) == runs[2]
    assert await claim(gql, task["id"], "ann", runs) is None
    error = await gql.error(CLAIM, {"task": task["id"], "user": "ann", "skip": ["nope"]})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "skipRunIds" in error["message"]


async def test_progress_counts_what_is_left_and_what_was_done(gql: GraphQLClient) -> None:
    task = await create_task(gql, tags=["summary"], reviews=2)
    runs = await ingest(gql, *[{"tags": ["summary"]} for _ in range(4)], {"tags": ["chat"]})
    progress = (await gql.ok(PROGRESS, {"task": task["id"], "user": "ann"}))["reviewProgress"]
    assert (progress["remaining"], progress["done"], progress["remainingCapped"]) == (4, 0, False)
    assert progress["since"].endswith("T00:00:00+00:00")
    await submit(gql, task["id"], runs[0], VALUES, user="ann")
    await submit(gql, task["id"], runs[1], VALUES, user="ann")
    await submit(gql, task["id"], runs[1], VALUES, user="ann")  # a resubmission
    await submit(gql, task["id"], runs[2], VALUES, user="bob")
    ann = (await gql.ok(PROGRESS, {"task": task["id"], "user": "ann"}))["reviewProgress"]
    assert (ann["reviewer"], ann["remaining"], ann["done"]) == ("ann", 2, 2)
    bob = (await gql.ok(PROGRESS, {"task": task["id"], "user": "bob"}))["reviewProgress"]
    assert (bob["remaining"], bob["done"]) == (3, 1)
    # Done since a time after the submissions: none.
    tomorrow = (BASE_TIME + timedelta(days=365 * 100)).isoformat()
    later = await gql.ok(PROGRESS, {"task": task["id"], "user": "ann", "since": tomorrow})
    assert later["reviewProgress"]["done"] == 0


async def pair_ids(gql: GraphQLClient, task_id: str, **variables: Any) -> tuple[str, str] | None:
    data = await gql.ok(PAIR, {"task": task_id, "user": "ann", **variables})
    pair = data["reviewPair"]
    return (pair["first"]["id"], pair["second"]["id"]) if pair else None


async def test_pairs_are_runs_with_the_same_inputs_until_compared(gql: GraphQLClient) -> None:
    task = await create_task(gql, tags=["summary"])
    runs = await ingest(
        gql,
        {"tags": ["summary"], "inputs": {"q": "capital of France?"}, "outputs": {"a": "Paris"}},
        {"tags": ["summary"], "inputs": {"q": "alone"}},
        {"tags": ["summary"], "inputs": {"q": "capital of France?"}, "outputs": {"a": "Lyon"}},
        {"tags": ["chat"], "inputs": {"q": "2+2"}},
        {"tags": ["summary"], "inputs": {"q": "2+2"}, "outputs": {"a": "4"}},
        {"tags": ["summary"], "inputs": {"q": "2+2"}, "outputs": {"a": "5"}},
        {"tags": ["summary"], "inputs": {"q": "2+2"}, "outputs": {"a": "four"}},
    )
    data = await gql.ok(PAIR, {"task": task["id"], "user": "ann"})
    pair = data["reviewPair"]
    assert pair["key"] == "Summary grading"
    assert pair["reviewer"] == "ann"
    assert (pair["first"]["id"], pair["second"]["id"]) == (runs[0], runs[2])
    assert pair["first"]["inputs"] == {"q": "capital of France?"}

    await gql.ok(PREFER, {"key": "Summary grading", "a": runs[0], "b": runs[2], "user": "ann"})
    assert await pair_ids(gql, task["id"]) == (runs[4], runs[5])
    # A tie counts as compared, either way round.
    tied = await gql.ok(
        PREFER, {"key": "Summary grading", "a": runs[5], "b": runs[4], "tied": "BAD", "user": "ann"}
    )
    assert tied["logPreference"]["tied"] == "BAD"
    assert await pair_ids(gql, task["id"]) == (runs[4], runs[6])
    assert await pair_ids(gql, task["id"], skip=[[runs[6], runs[4]]]) == (runs[5], runs[6])
    # Another reviewer, or another key, starts from the beginning.
    assert await pair_ids(gql, task["id"], user="bob") == (runs[0], runs[2])
    assert await pair_ids(gql, task["id"], key="preference") == (runs[0], runs[2])
    for a, b in ((runs[4], runs[6]), (runs[6], runs[5])):
        await gql.ok(PREFER, {"key": "Summary grading", "a": a, "b": b, "user": "ann"})
    assert await pair_ids(gql, task["id"]) is None
    error = await gql.error(PAIR, {"task": task["id"], "skip": [[runs[0]]]})
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_review_page_is_served_like_the_dashboard(http: httpx.AsyncClient) -> None:
    dashboard = await http.get("/dashboard")
    review = await http.get("/dashboard/review")
    assert review.status_code == 200
    assert review.headers["content-type"] == "text/html; charset=utf-8"
    assert 'src="/dashboard/assets/review.js"' in review.text
    for header in ("content-security-policy", "referrer-policy", "x-content-type-options"):
        assert review.headers[header] == dashboard.headers[header]
    assert review.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in review.headers["content-security-policy"]
    for asset in ("review.js", "review.css", "markdown.js", "rubric.js", "run_view.js"):
        assert (await http.get(f"/dashboard/assets/{asset}")).status_code == 200
