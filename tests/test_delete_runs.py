"""Deleting runs (admin): by id or filter, with what names them, in batches,
idempotent; from GraphQL and from the CLI."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette

from app.domain.lifecycle import runs as run_deletion
from app.settings import Settings
from tests.conftest import GraphQLClient, Keys, services
from tests.helpers import give_feedback
from tests.task_helpers import create_task, ingest, submit
from tests.test_cli_tokens import run_cli

DELETE = """
mutation($ids: [ID!], $f: RunFilter) {
  deleteRuns(ids: $ids, filter: $f) { runs counts { collection count } }
}"""


def _counts(data: dict[str, Any]) -> dict[str, int]:
    return {c["collection"]: c["count"] for c in data["deleteRuns"]["counts"]}


async def test_deleting_runs_by_filter_takes_what_names_them(
    app: Starlette, gql: GraphQLClient, sync_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_deletion, "RUN_BATCH", 2)  # three runs: two batches
    await gql.ok(
        'mutation { createWebhook(url: "https://hooks.example.com/x") { webhook { id } } }'
    )
    old = await ingest(gql, *({"name": "chat", "tags": ["old"]} for _ in range(3)))
    (keep,) = await ingest(gql, {"name": "chat", "tags": ["keep"]})
    for run in [*old, keep]:
        await give_feedback(gql, runId=run, key="helpful", score=1, comment=f"said on {run}")
    await gql.ok("mutation($r: ID!) { recordSignal(runId: $r, kind: COPY) { id } }", {"r": old[0]})
    await gql.ok(
        "mutation($i: [FeedbackTokenInput!]!) { createFeedbackTokens(inputs: $i) { token } }",
        {"i": [{"runId": old[1], "key": "helpful"}]},
    )
    task = await create_task(gql, tags=["old"])
    await submit(gql, task["id"], old[2], {"Coherence": 4, "Faithful": True}, user="r1")
    await services(app).pipelines.rollups.flush()
    assert sync_db.feedback_rollups.find_one({"key": "helpful", "g": "day"})["c"] == 4

    data = await gql.ok(DELETE, {"f": {"tags": ["old"]}})

    assert data["deleteRuns"]["runs"] == 3
    counts = _counts(data)
    assert counts["feedback"] == 3 + 2  # three thumbs, the submission's two metrics
    assert counts["signals"] == counts["feedback_tokens"] == counts["task_submissions"] == 1
    assert counts["review_states"] == 1
    # Deliveries that carried the deleted runs' feedback are scrubbed; the kept run's not.
    assert counts["webhook_deliveries"] >= 3
    bodies = [d["body"] for d in sync_db.webhook_deliveries.find()]
    assert not [b for b in bodies if any(run in b for run in old)]
    assert [b for b in bodies if f"said on {keep}" in b]
    for name in ("runs", "feedback", "signals", "feedback_tokens", "task_submissions"):
        assert sync_db[name].count_documents({"run_id": {"$in": old}}) == 0, name
    assert sync_db.runs.count_documents({"_id": {"$in": old}}) == 0
    assert sync_db.runs.count_documents({"_id": keep}) == 1
    assert sync_db.feedback.count_documents({"run_id": keep}) == 1
    assert sync_db.feedback_rollups.find_one({"key": "helpful", "g": "day"})["c"] == 1
    # The run is no longer remembered: feedback on it waits for it, as feedback on a
    # run not yet arrived does (pending), instead of counting on a run that is gone.
    late = await gql.ok(
        "mutation($i: FeedbackInput!) { createFeedback(input: $i) { id pending } }",
        {"i": {"runId": old[0], "key": "helpful", "score": 1}},
    )
    assert late["createFeedback"]["pending"] is True
    # Again: nothing left to delete, no error.
    again = await gql.ok(DELETE, {"f": {"tags": ["old"]}})
    assert again["deleteRuns"] == {"runs": 0, "counts": []}


async def test_deleting_runs_by_id_is_idempotent(gql: GraphQLClient, sync_db: Any) -> None:
    first, second = await ingest(gql, {"name": "a"}, {"name": "b"})
    data = await gql.ok(DELETE, {"ids": [first]})
    assert data["deleteRuns"]["runs"] == 1
    data = await gql.ok(DELETE, {"ids": [first]})
    assert data["deleteRuns"]["runs"] == 0
    assert sync_db.runs.count_documents({"_id": second}) == 1


async def test_deleting_runs_of_another_project_does_nothing(
    gql: GraphQLClient, http: Any, other_keys: Keys, sync_db: Any
) -> None:
    (theirs,) = await ingest(GraphQLClient(http, other_keys.admin), {"name": "theirs"})
    data = await gql.ok(DELETE, {"ids": [theirs]})
    assert data["deleteRuns"]["runs"] == 0
    assert sync_db.runs.count_documents({"_id": theirs}) == 1


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({}, "either run ids or a filter"),
        ({"ids": [], "f": {"tags": ["x"]}}, "either run ids or a filter"),
        ({"f": {}}, "empty filter"),
        ({"f": {"feedbackKey": "helpful"}}, "not by feedback"),
        ({"ids": ["not-a-uuid"]}, "ids"),
    ],
)
async def test_a_bad_deletion_is_a_clear_error(
    gql: GraphQLClient, variables: dict[str, Any], says: str
) -> None:
    error = await gql.error(DELETE, variables)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert says in error["message"]


async def test_deleting_runs_needs_an_admin_key(gql: GraphQLClient, keys: Keys) -> None:
    error = await gql.as_key(keys.ingest).error(DELETE, {"f": {"tags": ["x"]}})
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_cli_deletes_runs_and_erases_a_user(
    settings: Settings, gql: GraphQLClient, sync_db: Any
) -> None:
    # The CLI runs its own event loop: in a thread beside the test's.
    old = await ingest(gql, {"name": "a", "tags": ["old"]}, {"name": "b", "tags": ["old"]})
    (mine,) = await ingest(gql, {"name": "c", "userId": "u-cli"})
    await give_feedback(gql, runId=mine, key="helpful", score=1, userId="u-cli")

    out = await asyncio.to_thread(
        run_cli, settings, "delete-runs", "--project", "acme", "--tag", "old", "--no-progress"
    )
    assert out.splitlines()[0] == "2 runs deleted:"
    assert sync_db.runs.count_documents({"_id": {"$in": old}}) == 0

    out = await asyncio.to_thread(
        run_cli, settings, "erase-user", "u-cli", "--project", "acme", "--include-runs"
    )
    assert "  runs: 1" in out.splitlines() and "  feedback: 1" in out.splitlines()
    assert sync_db.runs.count_documents({"user_id": "u-cli"}) == 0
    receipt = sync_db.erasure_receipts.find_one({})
    assert receipt["by"] == "cli" and "u-cli" not in str(receipt)

    out = await asyncio.to_thread(run_cli, settings, "retention", "--project", "acme", "30")
    assert out.strip() == "acme: records kept 30 days"
    assert sync_db.projects.find_one({"name": "acme"})["retention_days"] == 30
