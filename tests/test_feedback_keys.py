from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient
from tests.helpers import CREATE_FEEDBACK, give_feedback, make_run

REGISTER = """
mutation($input: FeedbackKeyInput!) {
  registerFeedbackKey(input: $input) {
    key kind min max categories { value label } higherIsBetter description
  }
}"""


async def register(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    data = await gql.ok(REGISTER, {"input": fields})
    result: dict[str, Any] = data["registerFeedbackKey"]
    return result


async def feedback_error(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    return await gql.error(CREATE_FEEDBACK, {"input": fields})


async def test_continuous_range(gql: GraphQLClient) -> None:
    key = await register(gql, key="helpfulness", kind="CONTINUOUS", min=0, max=5)
    assert key["min"] == 0 and key["max"] == 5 and key["higherIsBetter"] is True
    run_id = await make_run(gql)
    assert (await give_feedback(gql, runId=run_id, key="helpfulness", score=4.5))["score"] == 4.5
    error = await feedback_error(gql, runId=run_id, key="helpfulness", score=7)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "helpfulness" in error["message"] and "0 to 5" in error["message"]
    assert error["extensions"]["allowed"]["max"] == 5
    error = await feedback_error(gql, runId=run_id, key="helpfulness", score=True)
    assert "not a number" in error["message"]


async def test_categorical(gql: GraphQLClient) -> None:
    await register(
        gql,
        key="tone",
        kind="CATEGORICAL",
        categories=[{"value": 0, "label": "rude"}, {"value": 1, "label": "polite"}],
    )
    run_id = await make_run(gql)
    by_label = await give_feedback(gql, runId=run_id, key="tone", value="polite")
    assert by_label["score"] == 1 and by_label["value"] == "polite"
    by_value = await give_feedback(gql, runId=run_id, key="tone", score=0)
    assert by_value["value"] == "rude"
    error = await feedback_error(gql, runId=run_id, key="tone", score=2)
    assert "not a category" in error["message"] and "polite" in error["message"]
    assert error["extensions"]["allowed"]["categories"] == [
        {"value": 0.0, "label": "rude"},
        {"value": 1.0, "label": "polite"},
    ]


async def test_boolean_and_freeform(gql: GraphQLClient) -> None:
    await register(gql, key="correct", kind="BOOLEAN")
    await register(gql, key="notes", kind="FREEFORM", description="Anything")
    run_id = await make_run(gql)
    assert (await give_feedback(gql, runId=run_id, key="correct", score=1))["score"] is True
    assert (await give_feedback(gql, runId=run_id, key="correct", score=False))["score"] is False
    error = await feedback_error(gql, runId=run_id, key="correct", score=0.5)
    assert "not a boolean" in error["message"]
    note = await give_feedback(gql, runId=run_id, key="notes", value={"text": "hm"})
    assert note["value"] == {"text": "hm"}
    error = await feedback_error(gql, runId=run_id, key="notes", score=3)
    assert "no score" in error["message"]


async def test_lower_is_better(gql: GraphQLClient) -> None:
    key = await register(gql, key="latency_pain", kind="CONTINUOUS", higherIsBetter=False)
    assert key["higherIsBetter"] is False
    data = await gql.ok(
        '{ feedbackKey(key: "latency_pain") { higherIsBetter } feedbackKeys { key } }'
    )
    assert data == {
        "feedbackKey": {"higherIsBetter": False},
        "feedbackKeys": [{"key": "latency_pain"}],
    }


async def test_bad_key_configs(gql: GraphQLClient) -> None:
    error = await gql.error(
        REGISTER, {"input": {"key": "k", "kind": "CONTINUOUS", "min": 5, "max": 1}}
    )
    assert "min (5.0) must be below max (1.0)" in error["message"]
    error = await gql.error(
        REGISTER,
        {"input": {"key": "k", "kind": "CATEGORICAL", "categories": [{"value": 1, "label": "a"}]}},
    )
    assert "at least two categories" in error["message"]
    error = await gql.error(REGISTER, {"input": {"key": "k", "kind": "BOOLEAN", "min": 0}})
    assert "only to continuous" in error["message"]
    error = await gql.error(REGISTER, {"input": {"key": "k", "kind": "SOMETHING"}})
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_strict_project_rejects_unregistered_keys(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    assert (await give_feedback(gql, runId=run_id, key="anything", score=42))["score"] == 42
    await gql.ok(
        "mutation { updateProject(input: {strictFeedbackKeys: true}) { strictFeedbackKeys } }"
    )
    error = await feedback_error(gql, runId=run_id, key="anything", score=1)
    assert "not registered" in error["message"]
    await register(gql, key="anything", kind="CONTINUOUS")
    assert (await give_feedback(gql, runId=run_id, key="anything", score=1))["score"] == 1


async def test_delete_key(gql: GraphQLClient) -> None:
    await register(gql, key="gone", kind="BOOLEAN")
    assert (await gql.ok('mutation { deleteFeedbackKey(key: "gone") }'))[
        "deleteFeedbackKey"
    ] == "gone"
    error = await gql.error('mutation { deleteFeedbackKey(key: "gone") }')
    assert error["extensions"]["code"] == "NOT_FOUND"
