"""A key of one project never sees or changes another project's tasks, reviews,
preferences, signals or exports."""

from __future__ import annotations

import httpx

from tests.conftest import GraphQLClient, Keys
from tests.export_dataset import build
from tests.task_helpers import SUBMIT, create_task, ingest, submit

VALUES = {"Coherence": 5, "Faithful": True}


async def test_tasks_and_reviews_are_per_project(
    gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    task = await create_task(gql, tags=["shared-tag"])
    (run,) = await ingest(gql, {"tags": ["shared-tag"]})
    await submit(gql, task["id"], run, VALUES, user="ann")
    other = gql.as_key(other_keys.admin)
    tid = task["id"]

    assert (await other.ok("{ feedbackTasks { nodes { id } } }"))["feedbackTasks"]["nodes"] == []
    data = await other.ok("query($id: ID!) { feedbackTask(id: $id) { id } }", {"id": tid})
    assert data["feedbackTask"] is None
    keys_data = await other.ok("{ feedbackKeys { key } }")
    assert keys_data["feedbackKeys"] == []

    not_found = [
        (
            'mutation($id: ID!) { updateFeedbackTask(id: $id, instructions: "x") { id } }',
            {"id": tid},
        ),
        (SUBMIT, {"task": tid, "run": run, "values": VALUES}),
        ("query($t: ID!) { taskSubmissions(taskId: $t) { nodes { id } } }", {"t": tid}),
        ("query($t: ID!) { reviewQueue(taskId: $t) { nodes { run { id } } } }", {"t": tid}),
        ("query($t: ID!) { taskAgreement(taskId: $t) { runsCompared } }", {"t": tid}),
        ("mutation($t: ID!) { claimReview(taskId: $t) { run { id } } }", {"t": tid}),
        (
            "mutation($t: ID!, $r: ID!) { releaseReview(taskId: $t, runId: $r) }",
            {"t": tid, "r": run},
        ),
    ]
    for query, variables in not_found:
        error = await other.error(query, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", query

    # The other project may use the same task name; its queue never holds our runs,
    # and it cannot submit on our run through its own task.
    own = await create_task(other, tags=["shared-tag"])
    data = await other.ok(
        "query($t: ID!) { reviewQueue(taskId: $t) { nodes { run { id } } } }", {"t": own["id"]}
    )
    assert data["reviewQueue"]["nodes"] == []
    data = await other.ok(
        "mutation($t: ID!) { claimReview(taskId: $t) { run { id } } }", {"t": own["id"]}
    )
    assert data["claimReview"] is None
    error = await other.error(SUBMIT, {"task": own["id"], "run": run, "values": VALUES})
    assert error["extensions"]["code"] == "NOT_FOUND"

    # Our side is untouched.
    data = await gql.ok(
        "query($t: ID!) { taskSubmissions(taskId: $t) { nodes { reviewer } } }", {"t": tid}
    )
    assert data["taskSubmissions"]["nodes"] == [{"reviewer": "ann"}]
    data = await gql.ok("query($id: ID!) { feedbackTask(id: $id) { instructions } }", {"id": tid})
    assert data["feedbackTask"]["instructions"] is None


async def test_preferences_and_signals_are_per_project(
    gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    a, b = await ingest(gql, {"outputs": "x"}, {"outputs": "y"})
    (theirs,) = await ingest(gql.as_key(other_keys.admin), {"outputs": "z"})
    await gql.ok(
        'mutation($a: ID!, $b: ID!) { logPreference(key: "k", preferredRunId: $a, '
        "otherRunId: $b) { id } }",
        {"a": a, "b": b},
    )
    await gql.ok("mutation($r: ID!) { recordSignal(runId: $r, kind: COPY) { id } }", {"r": a})
    other = gql.as_key(other_keys.ingest)

    # Our runs do not exist for them, alone or paired with one of theirs.
    for pair in ((a, b), (theirs, a), (a, theirs)):
        error = await other.error(
            'mutation($a: ID!, $b: ID!) { logPreference(key: "k", preferredRunId: $a, '
            "otherRunId: $b) { id } }",
            {"a": pair[0], "b": pair[1]},
        )
        assert error["extensions"]["code"] == "NOT_FOUND"
    error = await other.error(
        'mutation($r: ID!) { recordSignal(runId: $r, kind: EDIT, editedOutput: "e") { id } }',
        {"r": a},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"

    reader = gql.as_key(other_keys.read)
    data = await reader.ok("{ preferences { nodes { id } } signals { nodes { id } } }")
    assert data == {"preferences": {"nodes": []}, "signals": {"nodes": []}}
    data = await reader.ok(
        "query($r: ID!) { preferences(filter: {runId: $r}) { nodes { id } } "
        "signals(filter: {runIds: [$r]}) { nodes { id } } }",
        {"r": a},
    )
    assert data == {"preferences": {"nodes": []}, "signals": {"nodes": []}}
    mine = await gql.ok("{ preferences { nodes { id } } signals { nodes { id } } }")
    assert len(mine["preferences"]["nodes"]) == 1 and len(mine["signals"]["nodes"]) == 1


async def test_exports_are_per_project(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    await build(gql)
    for fmt, params in (
        ("dpo", {}),
        ("sft", {}),
        ("feedback", {}),
        ("regressions", {}),
        ("regressions", {"group_by": "error_kind"}),
    ):
        for key, expect_lines in ((other_keys.read, False), (keys.read, True)):
            response = await http.get(
                f"/export/{fmt}", params=params, headers={"Authorization": f"Bearer {key}"}
            )
            if key == other_keys.read and params:
                # Their project has no such key: a clear error, not our data.
                assert response.status_code == 400
                continue
            assert response.status_code == 200
            assert bool(response.text) is expect_lines, (fmt, params, key == keys.read)
