from __future__ import annotations

import uuid

from tests.conftest import GraphQLClient
from tests.helpers import INGEST, give_feedback, make_run

RUN_FIELDS = """
id name inputs outputs tags metadata userId sessionId traceId parentRunId model
startTime endTime latencyMs promptTokens completionTokens totalTokens error
"""


async def test_create_at_start_then_complete(gql: GraphQLClient) -> None:
    run_id = str(uuid.uuid4())
    trace_id = str(uuid.uuid4())
    await gql.ok(
        INGEST,
        {
            "runs": [
                {
                    "id": run_id,
                    "name": "answer",
                    "inputs": {"question": "2+2?"},
                    "tags": ["prod", "v2"],
                    "metadata": {"tenant": "t1"},
                    "userId": "u1",
                    "sessionId": "s1",
                    "traceId": trace_id,
                    "model": "gpt-x",
                    "startTime": "2026-11-01T10:00:00Z",
                }
            ]
        },
    )
    await gql.ok(
        INGEST,
        {
            "runs": [
                {
                    "id": run_id,
                    "outputs": {"answer": "4"},
                    "endTime": "2026-11-01T10:00:01.500Z",
                    "promptTokens": 10,
                    "completionTokens": 3,
                }
            ]
        },
    )
    data = await gql.ok(f"query($id: ID!) {{ run(id: $id) {{ {RUN_FIELDS} }} }}", {"id": run_id})
    run = data["run"]
    assert run["name"] == "answer"  # kept from the first call
    assert run["inputs"] == {"question": "2+2?"}
    assert run["outputs"] == {"answer": "4"}
    assert run["tags"] == ["prod", "v2"]
    assert run["traceId"] == trace_id
    assert run["latencyMs"] == 1500
    assert run["totalTokens"] == 13
    assert run["startTime"].startswith("2026-11-01T10:00:00")


async def test_operator_keys_are_stored_as_data(gql: GraphQLClient) -> None:
    inputs = {"$gt": "", "a.b": {"$where": "1"}, "100%": 1}
    run_id = await make_run(gql, inputs=inputs)
    data = await gql.ok("query($id: ID!) { run(id: $id) { inputs } }", {"id": run_id})
    assert data["run"]["inputs"] == inputs


async def test_unknown_run_is_null(gql: GraphQLClient) -> None:
    data = await gql.ok("query($id: ID!) { run(id: $id) { id } }", {"id": str(uuid.uuid4())})
    assert data["run"] is None


async def test_invalid_run_id(gql: GraphQLClient) -> None:
    error = await gql.error(INGEST, {"runs": [{"id": "not-a-uuid"}]})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "UUID" in error["message"]


async def test_bad_input_changes_nothing(gql: GraphQLClient) -> None:
    run_id = await make_run(gql, name="kept", inputs={"q": 1})
    huge = {"text": "x" * (1024 * 1024 + 1)}
    error = await gql.error(INGEST, {"runs": [{"id": run_id, "name": "changed", "inputs": huge}]})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "too large" in error["message"]
    data = await gql.ok("query($id: ID!) { run(id: $id) { name inputs } }", {"id": run_id})
    assert data["run"] == {"name": "kept", "inputs": {"q": 1}}


async def test_end_before_start_rejected(gql: GraphQLClient) -> None:
    error = await gql.error(
        INGEST,
        {
            "runs": [
                {
                    "id": str(uuid.uuid4()),
                    "startTime": "2026-11-01T10:00:00Z",
                    "endTime": "2026-11-01T09:00:00Z",
                }
            ]
        },
    )
    assert "end_time" in error["message"]


async def test_list_filters_and_pagination(gql: GraphQLClient) -> None:
    ids = []
    for i in range(7):
        ids.append(
            await make_run(
                gql,
                name="even" if i % 2 == 0 else "odd",
                tags=["t"] + (["special"] if i == 3 else []),
                userId=f"user{i % 3}",
                sessionId="s" if i < 4 else "other",
                model="m1" if i < 5 else "m2",
                startTime=f"2026-11-0{i + 1}T00:00:00Z",
            )
        )
    query = """
    query($filter: RunFilter, $first: Int, $after: String) {
      runs(filter: $filter, first: $first, after: $after) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor }
      }
    }"""
    seen: list[str] = []
    after = None
    while True:
        data = await gql.ok(query, {"first": 3, "after": after})
        page = data["runs"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))  # newest first, nothing repeated or lost

    async def ids_for(filter: dict[str, object]) -> list[str]:
        data = await gql.ok(query, {"filter": filter, "first": 100})
        return [e["node"]["id"] for e in data["runs"]["edges"]]

    assert await ids_for({"tags": ["t", "special"]}) == [ids[3]]
    assert await ids_for({"name": "odd"}) == [ids[5], ids[3], ids[1]]
    assert await ids_for({"userId": "user0"}) == [ids[6], ids[3], ids[0]]
    assert await ids_for({"sessionId": "s", "model": "m1"}) == [ids[3], ids[2], ids[1], ids[0]]
    assert await ids_for(
        {"startAfter": "2026-11-02T00:00:00Z", "startBefore": "2026-11-04T00:00:00Z"}
    ) == [ids[2], ids[1]]


async def test_filter_runs_by_feedback(gql: GraphQLClient) -> None:
    good = await make_run(gql)
    bad = await make_run(gql)
    none = await make_run(gql)
    await give_feedback(gql, runId=good, key="quality", score=0.9)
    await give_feedback(gql, runId=bad, key="quality", score=0.1)
    await give_feedback(gql, runId=none, key="other", score=1)
    query = "query($f: RunFilter) { runs(filter: $f) { nodes { id } } }"
    data = await gql.ok(query, {"f": {"feedbackKey": "quality"}})
    assert {n["id"] for n in data["runs"]["nodes"]} == {good, bad}
    data = await gql.ok(query, {"f": {"feedbackKey": "quality", "minScore": 0.5}})
    assert [n["id"] for n in data["runs"]["nodes"]] == [good]
    data = await gql.ok(query, {"f": {"feedbackKey": "quality", "maxScore": 0.5}})
    assert [n["id"] for n in data["runs"]["nodes"]] == [bad]


async def test_bad_cursor_and_page_size(gql: GraphQLClient) -> None:
    error = await gql.error('{ runs(after: "garbage!") { nodes { id } } }')
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "cursor" in error["message"]
    error = await gql.error("{ runs(first: 1000) { nodes { id } } }")
    assert "first must be between 1 and 100" in error["message"]


async def test_duplicate_ids_in_one_call(gql: GraphQLClient) -> None:
    run_id = str(uuid.uuid4())
    error = await gql.error(INGEST, {"runs": [{"id": run_id}, {"id": run_id}]})
    assert "twice" in error["message"]
