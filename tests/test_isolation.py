"""A key of one project can never read or change another project's data."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from tests.conftest import GraphQLClient, Keys, services
from tests.helpers import CREATE_FEEDBACK, INGEST, give_feedback, make_run


async def seed_project_a(gql: GraphQLClient) -> dict[str, Any]:
    run_id = await make_run(gql, name="secret run", inputs={"q": "private"})
    feedback = await give_feedback(gql, runId=run_id, key="thumbs", score=1, userId="alice")
    await gql.ok('mutation { registerFeedbackKey(input: {key: "thumbs", kind: BOOLEAN}) { key } }')
    return {"run_id": run_id, "feedback_id": feedback["id"]}


async def test_reads_see_nothing_of_another_project(
    gql: GraphQLClient, other_keys: Keys, keys: Keys
) -> None:
    a = await seed_project_a(gql)
    b = gql.as_key(other_keys.admin)
    data = await b.ok(
        """query($run: ID!, $fb: ID!) {
          project { name }
          run(id: $run) { id }
          runs { nodes { id } }
          feedback { nodes { id } }
          feedbackById(id: $fb) { id }
          feedbackKeys { key }
          feedbackKey(key: "thumbs") { key }
          apiKeys { id }
        }""",
        {"run": a["run_id"], "fb": a["feedback_id"]},
    )
    assert data["project"] == {"name": "globex"}
    assert data["run"] is None
    assert data["runs"]["nodes"] == []
    assert data["feedback"]["nodes"] == []
    assert data["feedbackById"] is None
    assert data["feedbackKeys"] == [] and data["feedbackKey"] is None
    a_key_ids = {k["id"] for k in (await gql.ok("{ apiKeys { id } }"))["apiKeys"]}
    assert a_key_ids.isdisjoint({k["id"] for k in data["apiKeys"]})


async def test_writes_cannot_touch_another_project(
    app: Starlette, gql: GraphQLClient, other_keys: Keys, keys: Keys
) -> None:
    a = await seed_project_a(gql)
    b = gql.as_key(other_keys.admin)

    error = await b.error(INGEST, {"runs": [{"id": a["run_id"], "name": "hijacked"}]})
    assert error["extensions"]["code"] == "CONFLICT"
    error = await b.error(
        CREATE_FEEDBACK, {"input": {"runId": a["run_id"], "key": "thumbs", "score": 0}}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    b_run = await make_run(b)
    error = await b.error(
        CREATE_FEEDBACK,
        {"input": {"id": a["feedback_id"], "runId": b_run, "key": "thumbs", "score": 0}},
    )
    assert error["extensions"]["code"] == "CONFLICT"
    error = await b.error(
        "mutation($id: ID!) { updateFeedback(id: $id, input: {score: 0}) { id } }",
        {"id": a["feedback_id"]},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await b.error(
        "mutation($id: ID!) { deleteFeedback(id: $id) }", {"id": a["feedback_id"]}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await b.error('mutation { deleteFeedbackKey(key: "thumbs") }')
    assert error["extensions"]["code"] == "NOT_FOUND"
    await b.ok('mutation { registerFeedbackKey(input: {key: "thumbs", kind: FREEFORM}) { key } }')
    a_key_id = (await gql.ok("{ apiKeys { id } }"))["apiKeys"][0]["id"]
    error = await b.error("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": a_key_id})
    assert error["extensions"]["code"] == "NOT_FOUND"
    await b.ok("mutation { updateProject(input: {strictFeedbackKeys: true}) { name } }")

    # Project A is exactly as it was.
    data = await gql.ok(
        """query($run: ID!, $fb: ID!) {
          project { strictFeedbackKeys }
          run(id: $run) { name }
          feedbackById(id: $fb) { score }
          feedbackKey(key: "thumbs") { kind }
          apiKeys { revokedAt }
        }""",
        {"run": a["run_id"], "fb": a["feedback_id"]},
    )
    assert data["project"]["strictFeedbackKeys"] is False
    assert data["run"]["name"] == "secret run"
    assert data["feedbackById"]["score"] == 1
    assert data["feedbackKey"]["kind"] == "BOOLEAN"
    assert all(k["revokedAt"] is None for k in data["apiKeys"])
    history = await services(app).stores.feedback.history(keys.project_id, a["feedback_id"])
    assert [h.change for h in history] == ["created"]


async def test_revoked_key_stops_working(gql: GraphQLClient, keys: Keys) -> None:
    created = await gql.ok(
        'mutation { createApiKey(role: READ, name: "tmp") { apiKey { id } secret } }'
    )
    secret = created["createApiKey"]["secret"]
    reader = gql.as_key(secret)
    assert (await reader.ok("{ project { name } }"))["project"]["name"] == "acme"
    await gql.ok(
        "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
        {"id": created["createApiKey"]["apiKey"]["id"]},
    )
    error = await reader.error("{ project { name } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "revoked" in error["message"]


async def test_keys_are_stored_hashed(app: Starlette, gql: GraphQLClient, keys: Keys) -> None:
    docs = await services(app).stores.api_keys.collection.find({}).to_list()
    stored = " ".join(str(d) for d in docs)
    for secret in (keys.admin, keys.ingest, keys.read):
        assert secret not in stored
        assert secret[20:] not in stored
