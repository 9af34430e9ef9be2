"""Every read of the feedback collection on the hot paths goes through an index.

The embedded store's planner is stricter than mongod's: it uses a compound index
only when a filter's equality fields are exactly the index's leading fields (plus
one range or $in field after them), and scans the whole collection otherwise. A
scan is invisible in a small test and minutes long at a million records, so this
test records the queries the app really sends while it serves votes, changes,
retractions, a run's feedback, a runs page and the worst runs, and asks the
server to explain each one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.commands import CommandRecorder
from tests.conftest import GraphQLClient
from tests.helpers import give_feedback, make_run

pytestmark = pytest.mark.record_commands

PLAN_FIELDS = ("find", "filter", "sort", "projection", "limit", "aggregate", "pipeline")


async def test_hot_feedback_reads_use_an_index(
    gql: GraphQLClient, recorder: CommandRecorder, sync_db: Any
) -> None:
    run_id = await make_run(gql)
    await gql.ok('mutation { registerFeedbackKey(input: {key: "thumbs", kind: BOOLEAN}) { key } }')
    await give_feedback(gql, runId=run_id, key="thumbs", score=True, userId="alice")
    await give_feedback(gql, runId=run_id, key="thumbs", score=False, userId="alice")
    await give_feedback(gql, runId=run_id, key="thumbs", score=False, userId="bob", comment="no")
    await give_feedback(gql, runId=run_id, key="thumbs", retract=True, userId="bob")
    await gql.ok(
        "query($r: [ID!]) { feedback(filter: {runIds: $r}, first: 100) { nodes { id } } }",
        {"r": [run_id]},
    )
    await gql.ok("query { runs(first: 50) { nodes { id feedback { id } feedbackStats { key } } } }")
    await gql.ok(
        'query { worstRuns(keys: ["thumbs"], first: 10, comments: 2) { runId comments { id } } }'
    )
    reads = [
        {k: v for k, v in command.items() if k in PLAN_FIELDS}
        for command in recorder.on("feedback", "find", "aggregate")
        # Live updates follow the oplog, not an index.
        if "$changeStream" not in json.dumps(command.get("pipeline", []), default=str)
    ]
    assert len(reads) >= 6
    scans = []
    for command in reads:
        if "aggregate" in command:
            command = {**command, "cursor": {}}
        plan = json.dumps(sync_db.command("explain", command), default=str)
        if "COLLSCAN" in plan or "IXSCAN" not in plan:
            scans.append(command)
    assert scans == []
