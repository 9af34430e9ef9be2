"""Small builders shared by the tests."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import GraphQLClient

INGEST = "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }"
CREATE_FEEDBACK = """
mutation($input: FeedbackInput!) {
  createFeedback(input: $input) {
    id runId key score value comment correction sourceType userId retracted
  }
}"""


async def make_run(gql: GraphQLClient, **fields: Any) -> str:
    run_id = fields.pop("id", None) or str(uuid.uuid4())
    await gql.ok(INGEST, {"runs": [{"id": run_id, **fields}]})
    return run_id


async def give_feedback(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    data = await gql.ok(CREATE_FEEDBACK, {"input": fields})
    result: dict[str, Any] = data["createFeedback"]
    return result
