"""Feedback tasks through the GraphQL API: schemas, versions, submissions, metrics."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.conftest import GraphQLClient, Keys
from tests.task_helpers import (
    CREATE_TASK,
    SUBMIT,
    SUMMARY_SCHEMA,
    create_task,
    ingest,
    submit,
)

UPDATE = """
mutation($id: ID!, $schema: JSON, $instructions: String, $reviews: Int) {
  updateFeedbackTask(id: $id, schema: $schema, instructions: $instructions,
                     reviewsRequired: $reviews) {
    id version schema instructions reviewsRequired
    versions { version schema }
  }
}"""

TASK = """
query($id: ID!) {
  feedbackTask(id: $id) { id name version instructions runTagSelector metricKeys
                          versions { version schema } }
}"""

SUBMISSIONS = """
query($task: ID!, $run: ID) {
  taskSubmissions(taskId: $task, runId: $run) {
    nodes { id taskVersion reviewer values schema run { id } }
  }
}"""


async def test_create_list_and_read_a_task(gql: GraphQLClient) -> None:
    task = await create_task(gql, instructions="Grade the summary", tags=["summary"])
    assert task["name"] == "Summary grading"
    assert task["version"] == 1
    assert task["schema"] == SUMMARY_SCHEMA
    assert task["runTagSelector"] == ["summary"]
    assert task["reviewsRequired"] == 1
    assert task["metricKeys"] == ["Summary grading.Coherence", "Summary grading.Faithful"]
    second = await create_task(gql, name="Tone", schema={"type": "object"})

    data = await gql.ok(TASK, {"id": task["id"]})
    assert data["feedbackTask"]["instructions"] == "Grade the summary"
    assert data["feedbackTask"]["versions"] == [{"version": 1, "schema": SUMMARY_SCHEMA}]

    page1 = await gql.ok(
        "query { feedbackTasks(first: 1) { nodes { name } pageInfo { hasNextPage endCursor } } }"
    )
    assert page1["feedbackTasks"]["nodes"] == [{"name": second["name"]}]
    assert page1["feedbackTasks"]["pageInfo"]["hasNextPage"] is True
    cursor = page1["feedbackTasks"]["pageInfo"]["endCursor"]
    page2 = await gql.ok(
        "query($after: String) { feedbackTasks(first: 1, after: $after) "
        "{ nodes { name } pageInfo { hasNextPage } } }",
        {"after": cursor},
    )
    assert page2["feedbackTasks"]["nodes"] == [{"name": "Summary grading"}]
    assert page2["feedbackTasks"]["pageInfo"]["hasNextPage"] is False

    # The task registered its metric keys with the schema's range.
    keys = await gql.ok("query { feedbackKeys { key kind min max higherIsBetter } }")
    assert {
        "key": "Summary grading.Coherence",
        "kind": "CONTINUOUS",
        "min": 1.0,
        "max": 7.0,
        "higherIsBetter": True,
    } in keys["feedbackKeys"]
    assert {
        "key": "Summary grading.Faithful",
        "kind": "BOOLEAN",
        "min": None,
        "max": None,
        "higherIsBetter": True,
    } in keys["feedbackKeys"]


async def test_duplicate_task_name_is_a_conflict(gql: GraphQLClient) -> None:
    await create_task(gql)
    error = await gql.error(
        'mutation($s: JSON!) { createFeedbackTask(name: "Summary grading", schema: $s) { id } }',
        {"s": {"type": "object"}},
    )
    assert error["extensions"]["code"] == "CONFLICT"


async def test_a_schema_that_is_not_a_schema_is_rejected(gql: GraphQLClient) -> None:
    query = 'mutation($s: JSON!) { createFeedbackTask(name: "T", schema: $s) { id } }'
    cases: list[tuple[Any, str]] = [
        ({"type": "objec"}, "is not valid under any of the given schemas"),
        ({"type": "object", "properties": {"a": {"minimum": "x"}}}, "'x' is not of type 'number'"),
        ({"type": "string"}, '"type": "object"'),
        ([1, 2], "must be a JSON object"),
        ({"type": "object", "properties": {"a": {"$ref": "https://example.com/s"}}}, "inside"),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}}, "points to nothing"),
        (
            {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
            "Draft 2020-12",
        ),
    ]
    for schema, message in cases:
        error = await gql.error(query, {"s": schema})
        assert error["extensions"]["code"] == "BAD_REQUEST", schema
        assert message in error["message"], (schema, error["message"])
    data = await gql.ok("query { feedbackTasks { nodes { id } } }")
    assert data["feedbackTasks"]["nodes"] == []


async def test_bad_task_settings(gql: GraphQLClient) -> None:
    for extra, message in (
        ({"reviews": 0}, "reviewsRequired"),
        ({"lease": 0}, "leaseSeconds"),
        ({"name": "  "}, "name must not be empty"),
    ):
        variables = {"name": "T", "schema": {"type": "object"}, **extra}
        error = await gql.error(CREATE_TASK, variables)
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert message in error["message"]


async def test_values_are_validated_listing_every_failing_field(gql: GraphQLClient) -> None:
    task = await create_task(gql)
    (run,) = await ingest(gql, {"name": "summarize"})
    error = await gql.error(
        SUBMIT,
        {
            "task": task["id"],
            "run": run,
            "values": {"Coherence": 9, "Issue": "typo", "Extra": 1},
        },
    )
    assert error["extensions"]["code"] == "BAD_REQUEST"
    errors = error["extensions"]["errors"]
    by_path = {(e["path"], e["keyword"]): e["message"] for e in errors}
    assert by_path == {
        (
            "$",
            "additionalProperties",
        ): "Additional properties are not allowed ('Extra' was unexpected)",
        ("$.Coherence", "maximum"): "9 is greater than the maximum of 7",
        ("$.Faithful", "required"): "'Faithful' is a required property",
        ("$.Issue", "enum"): "'typo' is not one of ['none', 'hallucination', 'omission']",
    }
    assert "version 1" in error["message"]
    # Nothing was recorded.
    data = await gql.ok(SUBMISSIONS, {"task": task["id"], "run": run})
    assert data["taskSubmissions"]["nodes"] == []

    error = await gql.error(SUBMIT, {"task": task["id"], "run": run, "values": [1]})
    assert error["extensions"]["errors"][0]["path"] == "$"


async def test_submission_writes_metrics_the_stats_aggregate(
    gql: GraphQLClient, keys: Keys
) -> None:
    task = await create_task(gql)
    (run,) = await ingest(gql, {"name": "summarize"})
    result = await submit(
        gql,
        task["id"],
        run,
        {"Coherence": 6, "Faithful": True, "Issue": "none", "Notes": "fine"},
        comment="good one",
        user="ann",
    )
    assert result["submission"]["taskVersion"] == 1
    assert result["submission"]["reviewer"] == "ann"
    assert result["reviewCount"] == 1 and result["needsReview"] is False
    metrics = {m["key"]: m for m in result["metricFeedback"]}
    assert set(metrics) == {"Summary grading.Coherence", "Summary grading.Faithful"}
    coherence = metrics["Summary grading.Coherence"]
    assert coherence["score"] == 6
    assert coherence["sourceType"] == "HUMAN"
    assert coherence["userId"] == "ann"
    assert coherence["sourceInfo"] == {
        "task_id": task["id"],
        "task_version": 1,
        "submission_id": result["submission"]["id"],
        "field": "Coherence",
    }
    assert metrics["Summary grading.Faithful"]["score"] is True

    # A second reviewer; the run's stats aggregate both like any feedback key.
    ingest_gql = gql.as_key(keys.ingest)
    await submit(ingest_gql, task["id"], run, {"Coherence": 3, "Faithful": False}, user="bob")
    stats = await gql.ok(
        "query($id: ID!) { run(id: $id) { feedbackStats { key count mean min max } } }",
        {"id": run},
    )
    by_key = {s["key"]: s for s in stats["run"]["feedbackStats"]}
    assert by_key["Summary grading.Coherence"] == {
        "key": "Summary grading.Coherence",
        "count": 2,
        "mean": 4.5,
        "min": 3.0,
        "max": 6.0,
    }
    assert by_key["Summary grading.Faithful"]["mean"] == 0.5

    # Resubmitting replaces the reviewer's answers and their metric records; a field
    # they leave out is retracted.
    await submit(gql, task["id"], run, {"Coherence": 7, "Faithful": True}, user="ann")
    feedback = await gql.ok(
        'query($run: ID!) { feedback(filter: {runIds: [$run], userIds: ["ann"]}) '
        "{ nodes { key score retracted } } }",
        {"run": run},
    )
    assert sorted((f["key"], f["score"]) for f in feedback["feedback"]["nodes"]) == [
        ("Summary grading.Coherence", 7),
        ("Summary grading.Faithful", True),
    ]
    data = await gql.ok(SUBMISSIONS, {"task": task["id"], "run": run})
    assert len(data["taskSubmissions"]["nodes"]) == 2


async def test_schema_change_creates_a_version_and_old_feedback_stays_readable(
    gql: GraphQLClient,
) -> None:
    schema_v1 = {
        "type": "object",
        "properties": {"Score": {"type": "integer", "minimum": 1, "maximum": 5}},
        "required": ["Score"],
    }
    task = await create_task(gql, name="Grading", schema=schema_v1)
    run1, run2 = await ingest(gql, {"name": "a"}, {"name": "b"})
    await submit(gql, task["id"], run1, {"Score": 4}, user="ann")

    schema_v2 = {
        "type": "object",
        "properties": {
            "Score": {"type": "integer", "minimum": 1, "maximum": 10},
            "Reason": {"type": "string", "minLength": 3},
        },
        "required": ["Score", "Reason"],
    }
    data = await gql.ok(UPDATE, {"id": task["id"], "schema": schema_v2})
    updated = data["updateFeedbackTask"]
    assert updated["version"] == 2
    assert updated["schema"] == schema_v2
    assert updated["versions"] == [
        {"version": 1, "schema": schema_v1},
        {"version": 2, "schema": schema_v2},
    ]
    # The same schema again is not a new version; other fields change in place.
    data = await gql.ok(UPDATE, {"id": task["id"], "schema": schema_v2})
    assert data["updateFeedbackTask"]["version"] == 2
    data = await gql.ok(UPDATE, {"id": task["id"], "instructions": "Be strict", "reviews": 2})
    assert data["updateFeedbackTask"]["version"] == 2
    assert data["updateFeedbackTask"]["instructions"] == "Be strict"
    assert data["updateFeedbackTask"]["reviewsRequired"] == 2

    # Values valid for v1 fail v2 now; v2 values pass and record version 2.
    error = await gql.error(SUBMIT, {"task": task["id"], "run": run2, "values": {"Score": 4}})
    assert [e["path"] for e in error["extensions"]["errors"]] == ["$.Reason"]
    assert "version 2" in error["message"]
    await submit(gql, task["id"], run2, {"Score": 9, "Reason": "thorough"}, user="ann")

    old = await gql.ok(SUBMISSIONS, {"task": task["id"], "run": run1})
    (node,) = old["taskSubmissions"]["nodes"]
    assert node["taskVersion"] == 1
    assert node["values"] == {"Score": 4}
    assert node["schema"] == schema_v1
    assert node["run"] == {"id": run1}
    new = await gql.ok(SUBMISSIONS, {"task": task["id"], "run": run2})
    assert new["taskSubmissions"]["nodes"][0]["taskVersion"] == 2
    assert new["taskSubmissions"]["nodes"][0]["schema"] == schema_v2
    # The metric key follows the new range.
    key = await gql.ok('query { feedbackKey(key: "Grading.Score") { max } }')
    assert key["feedbackKey"]["max"] == 10.0

    # A bad new schema is rejected and leaves the task as it was.
    error = await gql.error(UPDATE, {"id": task["id"], "schema": {"type": 5}})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    data = await gql.ok(TASK, {"id": task["id"]})
    assert data["feedbackTask"]["version"] == 2
    error = await gql.error(UPDATE, {"id": task["id"]})
    assert "nothing to update" in error["message"]


async def test_tag_selector_decides_which_runs_a_task_applies_to(gql: GraphQLClient) -> None:
    task = await create_task(gql, tags=["summary", "prod"])
    tagged, partial = await ingest(gql, {"tags": ["summary", "prod", "v2"]}, {"tags": ["summary"]})
    await submit(gql, task["id"], tagged, {"Coherence": 5, "Faithful": True})
    error = await gql.error(
        SUBMIT, {"task": task["id"], "run": partial, "values": {"Coherence": 5, "Faithful": True}}
    )
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "summary, prod" in error["message"]


async def test_unknown_ids(gql: GraphQLClient) -> None:
    task = await create_task(gql)
    (run,) = await ingest(gql, {})
    values = {"Coherence": 5, "Faithful": True}
    missing = str(uuid.uuid4())
    error = await gql.error(SUBMIT, {"task": missing, "run": run, "values": values})
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(SUBMIT, {"task": task["id"], "run": missing, "values": values})
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(SUBMIT, {"task": "not-a-uuid", "run": run, "values": values})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    data = await gql.ok(TASK, {"id": missing})
    assert data["feedbackTask"] is None
    error = await gql.error(UPDATE, {"id": missing, "instructions": "x"})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_permissions(gql: GraphQLClient, keys: Keys) -> None:
    error = await gql.as_key(keys.ingest).error(
        'mutation { createFeedbackTask(name: "T", schema: {type: "object"}) { id } }'
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    task = await create_task(gql)
    (run,) = await ingest(gql, {})
    error = await gql.as_key(keys.read).error(
        SUBMIT, {"task": task["id"], "run": run, "values": {"Coherence": 1, "Faithful": True}}
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    data = await gql.as_key(keys.read).ok(TASK, {"id": task["id"]})
    assert data["feedbackTask"]["name"] == "Summary grading"


async def test_a_metric_field_left_out_on_resubmission_is_retracted(gql: GraphQLClient) -> None:
    schema = {
        "type": "object",
        "properties": {"Helpful": {"type": ["number", "null"]}, "Safe": {"type": "boolean"}},
    }
    task = await create_task(gql, name="Opt", schema=schema)
    (run,) = await ingest(gql, {})
    first = await submit(gql, task["id"], run, {"Helpful": 0.5, "Safe": True}, user="ann")
    assert sorted(m["key"] for m in first["metricFeedback"]) == ["Opt.Helpful", "Opt.Safe"]
    second = await submit(gql, task["id"], run, {"Helpful": None}, user="ann")
    assert second["metricFeedback"] == []
    data = await gql.ok(
        "query($run: ID!) { feedback(filter: {runIds: [$run]}) { nodes { key score retracted } } }",
        {"run": run},
    )
    assert sorted((f["key"], f["score"], f["retracted"]) for f in data["feedback"]["nodes"]) == [
        ("Opt.Helpful", None, True),
        ("Opt.Safe", None, True),
    ]


async def test_racing_submissions_by_one_reviewer_keep_one_record(gql: GraphQLClient) -> None:
    schema = {"type": "object", "properties": {"Helpful": {"type": "number"}}}
    task = await create_task(gql, name="Race", schema=schema)
    (run,) = await ingest(gql, {})
    results = await asyncio.gather(
        *(submit(gql, task["id"], run, {"Helpful": n}, user="ann") for n in range(8))
    )
    assert len({r["submission"]["id"] for r in results}) == 1
    data = await gql.ok(
        "query($run: ID!) { feedback(filter: {runIds: [$run]}) { nodes { key score } } }",
        {"run": run},
    )
    [metric] = data["feedback"]["nodes"]
    assert metric["key"] == "Race.Helpful" and metric["score"] in range(8)
