"""Feedback (and tokens) for a run that has not arrived yet: recorded pending in
the project that sent it, listed and counted meanwhile, attached when the run
arrives there, never adopted by another project's run, and deleted by the
expiry rule if the run never comes."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app import clock
from app.domain.pending_feedback import expire_pending
from tests.commands import CommandRecorder
from tests.compat.langsmith.test_http import h
from tests.conftest import GraphQLClient, Keys, services
from tests.helpers import give_feedback, make_run

FEEDBACK = """query($id: ID!) { feedbackById(id: $id) {
  id runId score pending pendingUntil createdAt run { id } history { change by via }
} }"""
LIST = """query($filter: FeedbackFilter) { feedback(filter: $filter, first: 100) {
  nodes { id pending }
} }"""
RUN = "query($id: ID!) { run(id: $id) { id feedback { id score } } }"
STATS = """query($keys: [String!], $sources: [SourceType!]) {
  feedbackStats(filter: {keys: $keys, sourceTypes: $sources}, groupBy: [{dimension: KEY}]) {
    source groups { key count }
  }
}"""
VOTE = """mutation($r: ID!) {
  createFeedback(input: {runId: $r, key: "thumbs", score: 1}) { id }
}"""
TOKEN = """mutation($input: FeedbackTokenInput!) {
  createFeedbackTokens(inputs: [$input]) { token feedbackToken { id runId } }
}"""


async def record(gql: GraphQLClient, feedback_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await gql.ok(FEEDBACK, {"id": feedback_id}))["feedbackById"]
    return found


async def listed(gql: GraphQLClient, **filter: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await gql.ok(LIST, {"filter": filter}))["feedback"]["nodes"]
    return nodes


async def counts(gql: GraphQLClient) -> dict[str, dict[str, int]]:
    """Counts per key (of live records), from rollups and from an aggregation."""
    found = {}
    for sources in (None, ["API", "MODEL", "APP", "WIDGET", "EMAIL", "HUMAN"]):
        stats = (await gql.ok(STATS, {"keys": ["thumbs"], "sources": sources}))["feedbackStats"]
        # (A rollup keeps a key whose records are all gone, with a count of 0.)
        found[stats["source"]] = {g["key"]: g["count"] for g in stats["groups"] if g["count"]}
    return found


async def test_feedback_waits_for_its_run_and_attaches(gql: GraphQLClient) -> None:
    run_id = str(uuid.uuid4())
    given = await give_feedback(gql, runId=run_id, key="thumbs", score=1, userId="ann")
    pending = await record(gql, given["id"])
    assert pending["pending"] is True and pending["run"] is None
    assert pending["pendingUntil"] is not None
    assert [n["id"] for n in await listed(gql, pending=True)] == [given["id"]]
    assert await listed(gql, pending=False) == []
    assert await counts(gql) == {"ROLLUPS": {"thumbs": 1}, "AGGREGATION": {"thumbs": 1}}
    # A second vote by the same person changes the same pending record.
    flipped = await give_feedback(gql, runId=run_id, key="thumbs", score=0, userId="ann")
    assert flipped["id"] == given["id"]

    await make_run(gql, id=run_id)
    attached = await record(gql, given["id"])
    assert attached["pending"] is False and attached["pendingUntil"] is None
    assert attached["run"] == {"id": run_id} and attached["score"] == 0
    assert await listed(gql, pending=True) == []
    run = (await gql.ok(RUN, {"id": run_id}))["run"]
    assert run["feedback"] == [{"id": given["id"], "score": 0}]


async def test_langsmith_feedback_and_tokens_before_the_run(
    http: httpx.AsyncClient, keys: Keys, gql: GraphQLClient
) -> None:
    run_id = str(uuid.uuid4())
    created = await http.post(
        "/api/v1/feedback",
        json={"run_id": run_id, "key": "thumbs", "score": 1},
        headers=h(keys.ingest),
    )
    assert created.status_code == 200, created.text
    token = await http.post(
        "/api/v1/feedback/tokens",
        json={"run_id": run_id, "feedback_key": "stars"},
        headers=h(keys.ingest),
    )
    assert token.status_code == 200, token.text
    voted = await http.post(f"/api/v1/feedback/tokens/{token.json()['id']}", json={"score": 4})
    assert voted.status_code == 200, voted.text
    signed = await gql.ok(TOKEN, {"input": {"runId": run_id, "key": "helpful"}})
    widget = await http.post(
        "/public/feedback",
        json={"token": signed["createFeedbackTokens"][0]["token"], "score": 1},
    )
    assert widget.status_code == 200, widget.text
    assert len(await listed(gql, pending=True)) == 3

    ingested = await http.post(
        "/api/v1/runs",
        json={"id": run_id, "name": "late", "run_type": "llm", "inputs": {}},
        headers=h(keys.ingest),
    )
    assert ingested.status_code == 200, ingested.text
    assert await listed(gql, pending=True) == []
    assert len(await listed(gql, pending=False, runIds=[run_id])) == 3


async def test_a_run_of_another_project_takes_no_feedback_from_this_one(
    http: httpx.AsyncClient, gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    """The run arrives first, in the other project: this project is refused, as if
    the run did not exist (it does not, for this project)."""
    theirs = await make_run(gql.as_key(other_keys.admin))
    error = await gql.error(
        'mutation($r: ID!) { createFeedback(input: {runId: $r, key: "thumbs", score: 1}) { id } }',
        {"r": theirs},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(TOKEN, {"input": {"runId": theirs, "key": "thumbs"}})
    assert error["extensions"]["code"] == "NOT_FOUND"
    for path, body in (
        ("/api/v1/feedback", {"run_id": theirs, "key": "thumbs", "score": 1}),
        ("/api/v1/feedback/tokens", {"run_id": theirs, "feedback_key": "thumbs"}),
    ):
        refused = await http.post(path, json=body, headers=h(keys.ingest))
        assert refused.status_code == 404, refused.text
    assert await listed(gql) == []


async def test_pending_feedback_stays_in_its_project_whatever_arrives(
    app: Starlette, gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    """The feedback comes first; then the other project sends a run with that id.
    It neither adopts the feedback nor sees it; the feedback stays pending where
    it was sent, and expires there."""
    run_id = str(uuid.uuid4())
    mine = await give_feedback(gql, runId=run_id, key="thumbs", score=1)
    theirs = gql.as_key(other_keys.admin)
    await make_run(theirs, id=run_id)

    assert (await record(gql, mine["id"]))["pending"] is True
    assert (await theirs.ok(RUN, {"id": run_id}))["run"]["feedback"] == []
    assert await listed(theirs) == []
    assert await record(theirs, mine["id"]) is None
    assert (await counts(theirs)) == {"ROLLUPS": {}, "AGGREGATION": {}}
    # The run is theirs: this project can no longer add feedback on it.
    error = await gql.error(
        'mutation($r: ID!) { createFeedback(input: {runId: $r, key: "thumbs", score: 0}) { id } }',
        {"r": run_id},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"

    stores = services(app).stores
    deleted = await expire_pending(stores, clock.now() + timedelta(seconds=1), timedelta(0))
    assert deleted == 1
    assert await record(gql, mine["id"]) is None
    assert await counts(gql) == {"ROLLUPS": {}, "AGGREGATION": {}}


async def test_a_run_arriving_during_the_write_is_not_missed(
    app: Starlette, gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vote reads "no such run", the run arrives (and finds no pending feedback
    to attach), then the vote is written: the vote looks again and attaches."""
    runs = services(app).stores.runs
    run_id = str(uuid.uuid4())
    looked = []
    real_owner = runs.owner

    async def owner(asked: str) -> str | None:
        looked.append(asked)
        if len(looked) == 1:
            await make_run(gql, id=run_id)  # arrives right after this read
            return None
        return await real_owner(asked)

    monkeypatch.setattr(runs, "owner", owner)
    given = await give_feedback(gql, runId=run_id, key="thumbs", score=1)
    assert looked == [run_id, run_id]
    assert (await record(gql, given["id"]))["pending"] is False


async def test_expiry_takes_only_what_is_old_enough_and_still_pending(
    app: Starlette, gql: GraphQLClient
) -> None:
    stores = services(app).stores
    waiting, arriving = str(uuid.uuid4()), str(uuid.uuid4())
    old = await give_feedback(gql, runId=waiting, key="thumbs", score=1)
    attached = await give_feedback(gql, runId=arriving, key="thumbs", score=0)
    await make_run(gql, id=arriving)
    created = (await record(gql, old["id"]))["createdAt"]
    assert created

    # Not old enough yet: nothing happens.
    assert await expire_pending(stores, clock.now(), timedelta(days=7)) == 0
    assert (
        await expire_pending(stores, clock.now() + timedelta(days=7, seconds=1), timedelta(days=7))
        == 1
    )
    assert await record(gql, old["id"]) is None
    assert (await record(gql, attached["id"]))["pending"] is False
    # Deleted as deleteFeedback deletes: a retried create with that id is refused.
    error = await gql.error(
        "mutation($i: FeedbackInput!) { createFeedback(input: $i) { id } }",
        {"i": {"runId": waiting, "key": "thumbs", "score": 1, "id": old["id"]}},
    )
    assert error["extensions"]["code"] == "CONFLICT"


@pytest.mark.record_commands
async def test_pending_reads_and_writes_use_an_index(
    app: Starlette, gql: GraphQLClient, recorder: CommandRecorder, sync_db: Any
) -> None:
    """Listing a project's pending feedback, finding expired records and attaching
    a run's records each go through an index (the embedded store scans the whole
    collection otherwise)."""
    run_id = str(uuid.uuid4())
    await give_feedback(gql, runId=run_id, key="thumbs", score=1)
    recorder.clear()
    await listed(gql, pending=True)
    await expire_pending(services(app).stores, clock.now(), timedelta(days=7))
    await make_run(gql, id=run_id)
    finds = [
        {k: v for k, v in command.items() if k in ("find", "filter", "sort", "limit")}
        for command in recorder.on("feedback", "find")
    ]
    attaches = [
        {"find": "feedback", "filter": update["q"]}
        for command in recorder.on("feedback", "update")
        for update in command["updates"]
        if update.get("multi")
    ]
    # The third find: attaching reads the records it attaches (the same index).
    assert len(finds) == 3 and len(attaches) == 1
    for command in finds + attaches:
        plan = json.dumps(sync_db.command("explain", command), default=str)
        assert "IXSCAN" in plan and "COLLSCAN" not in plan, command
