"""Shared steps for the public-route tests: a run, and tokens for it."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import GraphQLClient

ISSUE = """
mutation($inputs: [FeedbackTokenInput!]!) {
  createFeedbackTokens(inputs: $inputs) {
    token widgetUrl widgetSnippet emailUrl
    feedbackToken { id runId key uses maxUses expiresAt allowedOrigins endUserId }
  }
}
"""

FEEDBACK = """
query($runId: ID!) {
  feedback(filter: {runIds: [$runId]}) {
    nodes { id key score value comment sourceType sourceInfo userId retracted
            history { change by via } }
  }
}
"""


async def make_run(gql: GraphQLClient) -> str:
    run_id = str(uuid.uuid4())
    await gql.ok(
        "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }",
        {"runs": [{"id": run_id, "name": "chat"}]},
    )
    return run_id


async def issue(
    gql: GraphQLClient, run_id: str, key: str = "helpful", **extra: Any
) -> dict[str, Any]:
    data = await gql.ok(ISSUE, {"inputs": [{"runId": run_id, "key": key, **extra}]})
    issued: dict[str, Any] = data["createFeedbackTokens"][0]
    return issued


async def feedback_on(gql: GraphQLClient, run_id: str) -> list[dict[str, Any]]:
    data = await gql.ok(FEEDBACK, {"runId": run_id})
    nodes: list[dict[str, Any]] = data["feedback"]["nodes"]
    return nodes
