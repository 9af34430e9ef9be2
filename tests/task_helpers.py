"""Shared steps for the feedback-task, preference, signal and export tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import GraphQLClient

BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

INGEST = "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }"

CREATE_TASK = """
mutation($name: String!, $schema: JSON!, $instructions: String, $tags: [String!],
         $reviews: Int! = 1, $lease: Int! = 600) {
  createFeedbackTask(name: $name, schema: $schema, instructions: $instructions,
                     runTagSelector: $tags, reviewsRequired: $reviews, leaseSeconds: $lease) {
    id name version schema runTagSelector reviewsRequired leaseSeconds metricKeys
  }
}"""

SUBMIT = """
mutation($task: ID!, $run: ID!, $values: JSON!, $comment: String, $user: String) {
  submitTaskFeedback(taskId: $task, runId: $run, values: $values, comment: $comment,
                     userId: $user) {
    submission { id taskVersion reviewer values comment }
    metricFeedback { key score sourceType userId sourceInfo }
    reviewCount needsReview
  }
}"""

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "Coherence": {"type": "integer", "minimum": 1, "maximum": 7},
        "Faithful": {"type": "boolean"},
        "Issue": {"enum": ["none", "hallucination", "omission"]},
        "Notes": {"type": "string"},
    },
    "required": ["Coherence", "Faithful"],
    "additionalProperties": False,
}


async def ingest(gql: GraphQLClient, *runs: dict[str, Any]) -> list[str]:
    """Ingest runs; each gets an id (unless given) and a start time a minute apart."""
    payload = []
    for i, run in enumerate(runs):
        item = {
            "id": str(uuid.uuid4()),
            "startTime": (BASE_TIME + timedelta(minutes=i)).isoformat(),
        }
        item.update(run)
        payload.append(item)
    await gql.ok(INGEST, {"runs": payload})
    return [r["id"] for r in payload]


async def create_task(
    gql: GraphQLClient,
    name: str = "Summary grading",
    schema: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    variables = {"name": name, "schema": schema or SUMMARY_SCHEMA, **extra}
    data = await gql.ok(CREATE_TASK, variables)
    task: dict[str, Any] = data["createFeedbackTask"]
    return task


async def submit(
    gql: GraphQLClient, task_id: str, run_id: str, values: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    data = await gql.ok(SUBMIT, {"task": task_id, "run": run_id, "values": values, **extra})
    result: dict[str, Any] = data["submitTaskFeedback"]
    return result
