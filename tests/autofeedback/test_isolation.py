"""A key of one project never sees, starts, cancels or calibrates automatic feedback
on another project's tasks, keys, jobs or runs; and roles apply."""

from __future__ import annotations

from tests.autofeedback.api import (
    CALIBRATION,
    CANCEL,
    JOB,
    START,
    finished,
    job,
    model_submissions,
    start,
)
from tests.autofeedback.dataset import UNLABELLED, build
from tests.conftest import GraphQLClient, Keys
from tests.task_helpers import SUMMARY_SCHEMA, create_task, ingest, submit

NN = "NEAREST_NEIGHBOUR"


async def test_autofeedback_is_per_project(
    gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    ds = await build(gql)
    await gql.ok('mutation { registerFeedbackKey(input: {key: "correct", kind: BOOLEAN}) { key } }')
    await gql.ok('mutation { setKeyJudge(key: "correct", instructions: "secret") { key } }')
    ours = await start(gql, task=ds.task_id, limit=1, method=NN)
    other = gql.as_key(other_keys.admin)

    not_found = [
        (START, {"task": ds.task_id, "limit": 5, "method": NN}),
        (START, {"key": "correct", "limit": 5, "method": NN}),
        (CANCEL, {"id": ours["id"]}),
        (CALIBRATION, {"task": ds.task_id, "method": NN}),
        (CALIBRATION, {"key": "correct", "method": NN}),
        ('mutation { setKeyJudge(key: "correct", instructions: "x") { key } }', {}),
    ]
    for query, variables in not_found:
        error = await other.error(query, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", (query, error)

    assert (await other.ok(JOB, {"id": ours["id"]}))["autoFeedbackJob"] is None
    listed = await other.ok("{ autoFeedbackJobs { nodes { id } } }")
    assert listed["autoFeedbackJobs"]["nodes"] == []
    judge = await other.ok('{ keyJudge(key: "correct") { instructions } }')
    assert judge["keyJudge"] is None
    # Ours are untouched by the attempts.
    assert (await finished(gql, ours["id"]))["status"] == "DONE"
    mine = await gql.ok("{ autoFeedbackJobs { nodes { id } } }")
    assert [n["id"] for n in mine["autoFeedbackJobs"]["nodes"]] == [ours["id"]]
    assert (await gql.ok('{ keyJudge(key: "correct") { instructions } }'))["keyJudge"] == {
        "instructions": "secret"
    }

    # The other project's own task of the same name, over the same tag, labels only
    # its own runs, learning only from its own labels.
    theirs = await create_task(other, name="Support answers", schema=SUMMARY_SCHEMA,
                               tags=["support"])  # fmt: skip
    labelled, unlabelled = await ingest(
        other,
        {"tags": ["support"], "inputs": {"question": "refund please"}},
        {"tags": ["support"], "inputs": {"question": "refund now"}},
    )
    await submit(other, theirs["id"], labelled, {"Coherence": 2, "Faithful": False}, user="zed")
    their_job = await start(other, task=theirs["id"], limit=100, method=NN)
    assert their_job["total"] == 1
    done = await finished(other, their_job["id"])
    assert done["done"] == 1
    data = await other.ok(
        "query($t: ID!, $r: ID!) { taskSubmissions(taskId: $t, runId: $r) "
        "{ nodes { values sourceType } } }",
        {"t": theirs["id"], "r": unlabelled},
    )
    assert data["taskSubmissions"]["nodes"] == [
        {"values": {"Coherence": 2, "Faithful": False}, "sourceType": "MODEL"}
    ]
    # Our runs carry only our own job's one label (limit 1), none from theirs.
    labels = [await model_submissions(gql, ds.task_id, ds.ids[n]) for n in UNLABELLED]
    assert sorted(len(found) for found in labels) == [0, 0, 1]
    assert (await job(gql, ours["id"]))["done"] == 1


async def test_roles(gql: GraphQLClient, keys: Keys) -> None:
    ds = await build(gql)
    started = await start(gql, task=ds.task_id, limit=1, method=NN)
    for role_key in (keys.read, keys.ingest):
        as_role = gql.as_key(role_key)
        for query, variables in (
            (START, {"task": ds.task_id, "limit": 5, "method": NN}),
            (CANCEL, {"id": started["id"]}),
            (CALIBRATION, {"task": ds.task_id, "method": NN}),
            ('mutation { setKeyJudge(key: "k", instructions: "x") { key } }', {}),
        ):
            error = await as_role.error(query, variables)
            assert error["extensions"]["code"] == "FORBIDDEN", query
    reader = gql.as_key(keys.read)
    assert (await reader.ok(JOB, {"id": started["id"]}))["autoFeedbackJob"]["id"] == started["id"]
    error = await gql.as_key(keys.ingest).error(JOB, {"id": started["id"]})
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.as_key(None).error(JOB, {"id": started["id"]})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
