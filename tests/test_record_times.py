"""A record a write returns carries the times it reads back with: every time a
record is stamped with comes from app.clock.now() (UTC, whole milliseconds, as
BSON keeps it), never from datetime.now() (microseconds, cut on the way in)."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.helpers import make_run


async def test_created_records_read_back_with_the_times_they_were_returned_with(
    gql: GraphQLClient,
) -> None:
    run_id = await make_run(gql)
    written = await gql.ok(
        """mutation($run: ID!) {
          createFeedback(input: {runId: $run, key: "thumbs", score: 1}) {
            id createdAt modifiedAt
          }
          createApiKey(role: READ, name: "times") { apiKey { id createdAt } }
          createWebhook(url: "https://hooks.example.com/plaudit") {
            webhook { id createdAt }
          }
        }""",
        {"run": run_id},
    )
    feedback = written["createFeedback"]
    key = written["createApiKey"]["apiKey"]
    webhook = written["createWebhook"]["webhook"]
    read = await gql.ok(
        """query($id: ID!) {
          feedbackById(id: $id) { createdAt modifiedAt }
          apiKeys { id createdAt }
          webhooks { id createdAt }
        }""",
        {"id": feedback["id"]},
    )
    assert read["feedbackById"] == {
        "createdAt": feedback["createdAt"],
        "modifiedAt": feedback["modifiedAt"],
    }
    assert {"id": key["id"], "createdAt": key["createdAt"]} in read["apiKeys"]
    assert read["webhooks"] == [webhook]
