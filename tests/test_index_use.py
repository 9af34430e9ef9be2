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
from pymongo import monitoring

from tests.conftest import GraphQLClient
from tests.helpers import give_feedback, make_run

PLAN_FIELDS = ("find", "filter", "sort", "projection", "limit", "aggregate", "pipeline")


class FeedbackReads(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in ("find", "aggregate") and event.command.get(name) == "feedback":
            if "$changeStream" in json.dumps(event.command.get("pipeline", []), default=str):
                return  # live updates follow the oplog, not an index
            self.commands.append({k: v for k, v in event.command.items() if k in PLAN_FIELDS})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def reads() -> FeedbackReads:
    return FeedbackReads()


@pytest.fixture
def client_options(reads: FeedbackReads) -> dict[str, Any]:
    return {"event_listeners": [reads]}


async def test_hot_feedback_reads_use_an_index(
    gql: GraphQLClient, reads: FeedbackReads, sync_db: Any
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
    assert len(reads.commands) >= 6
    scans = []
    for command in reads.commands:
        explained = sync_db.command(
            "explain", {**command, "cursor": {}} if "aggregate" in command else command
        )
        plan = json.dumps(explained, default=str)
        if "COLLSCAN" in plan or "IXSCAN" not in plan:
            scans.append(command)
    assert scans == []
