"""A project's settings (updateProject) and the origins it allows, which follow the
same rule as a token's allowed origins (one check, app.domain.feedback_tokens)."""

from __future__ import annotations

from tests.conftest import GraphQLClient
from tests.public.helpers import ISSUE, make_run

UPDATE = """mutation($o: [String!], $s: Boolean) {
  updateProject(input: {allowedOrigins: $o, strictFeedbackKeys: $s}) {
    allowedOrigins strictFeedbackKeys
  }
}"""


async def test_project_origins_are_checked_as_token_origins_are(gql: GraphQLClient) -> None:
    origins = [" https://App.Example.com ", "http://localhost:3000"]
    project = (await gql.ok(UPDATE, {"o": origins}))["updateProject"]
    # Trimmed and lower-cased, as a token's origins are (the project's copy of the
    # check refused the first one).
    assert project["allowedOrigins"] == ["https://app.example.com", "http://localhost:3000"]
    run_id = await make_run(gql)
    token = await gql.error(
        ISSUE, {"inputs": [{"runId": run_id, "key": "k", "allowedOrigins": ["ftp://x"]}]}
    )
    refused = await gql.error(UPDATE, {"o": ["ftp://x"]})
    assert refused["message"] == token["message"]
    assert refused["extensions"] == token["extensions"]
    assert token["extensions"] == {"code": "BAD_REQUEST", "field": "allowedOrigins"}


async def test_an_update_must_change_something(gql: GraphQLClient) -> None:
    error = await gql.error(UPDATE, {})
    assert error["message"] == "nothing to update"
    project = (await gql.ok(UPDATE, {"s": True}))["updateProject"]
    assert project == {"allowedOrigins": [], "strictFeedbackKeys": True}
