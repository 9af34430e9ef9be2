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
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.domain.feedback import delete_feedback
from app.domain.lifecycle.erasure import erase_end_user
from app.domain.lifecycle.retention import sweep
from tests.commands import CommandRecorder
from tests.compat.langfuse.helpers import key_pair, send_trace
from tests.conftest import GraphQLClient, Keys
from tests.helpers import give_feedback, make_run
from tests.pipelines_support import CHANGE, give, written_at

pytestmark = pytest.mark.record_commands

PLAN_FIELDS = ("find", "filter", "sort", "projection", "limit", "hint", "aggregate", "pipeline")


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


def explain_scans(sync_db: Any, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The commands the server would answer by scanning a collection."""
    scans = []
    for command in commands:
        command = {k: v for k, v in command.items() if k in PLAN_FIELDS}
        if "aggregate" in command:
            command = {**command, "cursor": {}}
        plan = json.dumps(sync_db.command("explain", command), default=str)
        if "COLLSCAN" in plan or "IXSCAN" not in plan:
            scans.append(command)
    return scans


async def test_langsmith_ingest_and_run_queries_use_an_index(
    http: httpx.AsyncClient, keys: Keys, recorder: CommandRecorder, sync_db: Any
) -> None:
    """Tracing (runs in tracing projects, in a trace) and /runs/query, with every
    kind of walk: by tracing project, trace, parent, trace roots, ids, the whole
    project, a feedback filter, and the second page of each (keyset cursor)."""
    headers = {"x-api-key": keys.admin}
    root, child, other = (str(uuid.uuid4()) for _ in range(3))
    batch = {
        "post": [
            {"id": root, "name": "a", "session_name": "p", "start_time": "2025-01-01T00:00:00Z"},
            {"id": child, "parent_run_id": root, "trace_id": root, "session_name": "p"},
            {"id": other, "name": "b", "start_time": "2025-01-01T00:00:00Z"},
        ],
        "patch": [{"id": child, "end_time": "2030-01-01T00:00:00Z", "outputs": {"x": 1}}],
    }
    assert (await http.post("/runs/batch", json=batch, headers=headers)).status_code == 200
    response = await http.post(
        "/feedback", json={"run_id": root, "key": "thumbs", "score": 1}, headers=headers
    )
    assert response.status_code == 200
    [session] = (await http.get("/sessions", params={"name": "p"}, headers=headers)).json()
    bodies: list[dict[str, Any]] = [
        {"session": [session["id"]]},
        {"session_id": session["id"], "trace": root, "is_root": False},
        {"trace": root},
        {"parent_run": root},
        {"is_root": True, "filter": 'eq(name, "a")'},
        {"id": [root, other]},
        {"filter": 'and(eq(feedback_key, "thumbs"), gt(feedback_score, 0))'},
        {"filter": 'search("a")', "start_time": "2024-01-01T00:00:00Z", "order": "asc"},
    ]
    for body in bodies:
        first = (await http.post("/runs/query", json={**body, "limit": 1}, headers=headers)).json()
        if first["cursors"]["next"]:
            cursor = first["cursors"]["next"]
            second = {**body, "limit": 1, "cursor": cursor}
            assert (await http.post("/runs/query", json=second, headers=headers)).is_success
    reads = recorder.on("runs", "find", "aggregate") + recorder.on(
        "tracing_projects", "find", "aggregate"
    )
    reads += [
        c
        for c in recorder.on("feedback", "find", "aggregate")
        if "$changeStream" not in json.dumps(c.get("pipeline", []), default=str)
    ]
    assert len(reads) >= 20
    assert explain_scans(sync_db, reads) == []


async def test_langfuse_reads_use_an_index(
    http: httpx.AsyncClient, gql: GraphQLClient, recorder: CommandRecorder, sync_db: Any
) -> None:
    """Langfuse's trace, observation and session reads (app/compat/langfuse), with
    every filter that narrows the runs read."""
    pair = await key_pair(gql)
    sent = await send_trace(
        http, pair, 0, {"user.id": "u", "session.id": "s", "langfuse.trace.tags": ["t"]}
    )
    paths = [
        f"/traces/{sent['trace']}",
        f"/traces/{sent['root']}0000000000000000",
        "/traces",
        "/traces?userId=u&limit=1&page=2",
        "/traces?sessionId=s",
        "/traces?tags=t",
        "/traces?name=root&fromTimestamp=2025-01-01T00:00:00Z",
        "/observations",
        f"/observations?traceId={sent['trace']}",
        "/observations?type=GENERATION",
        f"/observations?parentObservationId={sent['root']}",
        "/observations?userId=u",
        "/observations?sessionId=s",
        f"/observations/{sent['gen']}",
        "/v2/observations?limit=1",
        "/sessions",
        "/sessions?fromTimestamp=2025-01-01T00:00:00Z",
        "/sessions/s",
    ]
    recorder.clear()
    for path in paths:
        response = await http.get(f"/api/public{path}", headers=pair.basic())
        assert response.status_code in (200, 404), response.text
    reads = recorder.on("runs", "find", "aggregate")
    assert len(reads) >= len(paths)
    assert explain_scans(sync_db, reads) == []


async def test_worst_runs_read_run_tallies_through_an_index(
    gql: GraphQLClient, recorder: CommandRecorder, sync_db: Any
) -> None:
    run_id = await make_run(gql)
    await gql.ok('mutation { registerFeedbackKey(input: {key: "thumbs", kind: BOOLEAN}) { key } }')
    await give_feedback(gql, runId=run_id, key="thumbs", score=False, userId="alice")
    await give_feedback(gql, runId=run_id, key="thumbs", score=False, userId="bob")
    # A retraction leaves the run's newest time to recount (and store) when read.
    await give_feedback(gql, runId=run_id, key="thumbs", retract=True, userId="bob")
    recorder.clear()
    # Windows of a day or two (longer ones walk run days, the test below).
    recent = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    for args in (f'keys: ["thumbs"], after: "{recent}"', f'first: 5, after: "{recent}"'):
        found = await gql.ok(f"query {{ worstRuns({args}) {{ runId negative }} }}")
        assert found["worstRuns"] == [{"runId": run_id, "negative": 1}]
    finds = recorder.on("run_tallies", "find")
    saves = [
        {"find": "run_tallies", "filter": update["q"]}
        for command in recorder.on("run_tallies", "update")
        for update in command["updates"]
    ]
    assert len(finds) >= 2 and saves
    assert explain_scans(sync_db, finds + saves) == []


async def test_grouped_statistics_use_an_index(
    app: Any,
    gql: GraphQLClient,
    keys: Keys,
    recorder: CommandRecorder,
    sync_db: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Grouped rollups: the flush's slot reads and bucket updates, the reads of
    every grouping, for one key, several and all, the run lookup of a flush, the
    version-checked save of recounted min/max, an erasure's update of the user's
    buckets and retention's deletes."""
    stores = app.state.services.stores
    pid = keys.project_id
    run_id = await make_run(gql)
    with written_at(monkeypatch, datetime(2025, 1, 1, 10, tzinfo=UTC)):
        await give(app, pid, run_id, "thumbs", True, user_id="alice")
        await give(app, pid, run_id, "stars", 4, user_id="bob")
        doomed = await give(app, pid, run_id, "stars", 2, user_id="cy")
    await app.state.services.pipelines.rollups.flush()
    # A removed score: its groups' min/max are recounted when read, and saved.
    await delete_feedback(stores, pid, doomed.id, CHANGE)
    window = '{after: "2025-01-01T00:00:00Z", before: "2025-01-03T00:00:00Z"'
    for dimension in ("USER", "SOURCE", "MODEL", "TAG", "SESSION"):
        for keys_filter in ('["thumbs"]', '["thumbs", "stars"]', "null"):
            data = await gql.ok(
                f"query {{ feedbackStats(filter: {window}, keys: {keys_filter}}}, "
                f"groupBy: [{{dimension: {dimension}}}]) {{ source groups {{ count }} }} }}"
            )
            assert data["feedbackStats"]["source"] == "ROLLUPS"
    await erase_end_user(stores, pid, "alice", include_runs=False, by="test")
    await stores.projects.update(pid, {"retention_days": 30})
    await sweep(stores)
    reads = recorder.on("feedback_group_buckets", "find", "aggregate")
    reads += [c for c in recorder.on("runs", "find") if "model" in json.dumps(c, default=str)]
    statements = [
        statement
        for command in recorder.on("feedback_group_buckets", "update", "delete")
        for statement in command.get("updates", []) + command.get("deletes", [])
    ]
    writes = [{"find": "feedback_group_buckets", "filter": s["q"]} for s in statements]
    saves = [s for s in statements if isinstance(s.get("u"), list)]  # version checked inside
    erasures = [s for s in statements if "$pull" in s.get("u", {})]
    assert len(reads) >= 16 and saves and erasures and len(writes) >= 10
    assert explain_scans(sync_db, reads + writes) == []


async def test_saving_recounted_rollup_extremes_uses_an_index(
    app: Any, gql: GraphQLClient, recorder: CommandRecorder, sync_db: Any
) -> None:
    """A removed score leaves a rollup's min/max to recount when read; the recount
    is saved only if the rollup's version has not moved: that conditional update
    must find its rollup through an index, not by scanning every rollup."""
    run_id = await make_run(gql)
    await give_feedback(gql, runId=run_id, key="stars", score=4, userId="alice")
    await give_feedback(gql, runId=run_id, key="stars", score=2, userId="bob")
    await give_feedback(gql, runId=run_id, key="stars", retract=True, userId="bob")
    await app.state.services.pipelines.rollups.flush()
    recorder.clear()
    for bucket in ("HOUR", "DAY"):
        data = await gql.ok(
            'query { feedbackStats(filter: {keys: ["stars"]}, '
            f"groupBy: [{{dimension: TIME, bucket: {bucket}}}]) "
            "{ source groups { min max } } }"
        )
        assert data["feedbackStats"]["source"] == "ROLLUPS"
        assert data["feedbackStats"]["groups"][0]["min"] == 4
    saves = [
        {"find": "feedback_rollups", "filter": update["q"]}
        for command in recorder.on("feedback_rollups", "update")
        for update in command["updates"]
        if "v" in update["q"]
    ]
    assert saves
    assert explain_scans(sync_db, saves) == []


async def test_worst_runs_over_long_windows_walk_run_days_through_an_index(
    app: Any, gql: GraphQLClient, recorder: CommandRecorder, sync_db: Any
) -> None:
    """The run days' writes (a key's first: is it new?), the reads of a count and
    the probes for the next, a dirty run's raw scores and its saved times."""
    runs = [await make_run(gql) for _ in range(3)]
    await gql.ok('mutation { registerFeedbackKey(input: {key: "thumbs", kind: BOOLEAN}) { key } }')
    for run_id in runs:
        await give_feedback(gql, runId=run_id, key="thumbs", score=False, userId="alice")
        await give_feedback(gql, runId=run_id, key="stars", score=0, userId="bob")
    # A retraction leaves the run's newest time to recount (and store) when read.
    await give_feedback(gql, runId=runs[0], key="thumbs", score=False, userId="carol")
    await give_feedback(gql, runId=runs[0], key="thumbs", retract=True, userId="carol")
    await app.state.services.pipelines.rollups.flush()
    for args in ('keys: ["thumbs"]', 'keys: ["stars"], first: 1'):
        query = f'query {{ worstRuns({args}, after: "2020-01-01T00:00:00Z") {{ runId }} }}'
        assert (await gql.ok(query))["worstRuns"]
    finds = recorder.on("run_days", "find")
    assert any("lo" in c["filter"] for c in finds) and any("$gte" in str(c) for c in finds)
    saves = [
        {"find": "run_days", "filter": update["q"]}
        for command in recorder.on("run_days", "update")
        for update in command["updates"]
        if "v" in update["q"]
    ]
    raw = [c for c in recorder.on("feedback", "find") if c["filter"].get("run_id") == runs[0]]
    tallies = recorder.on("run_tallies", "find")
    assert saves and raw and tallies
    assert explain_scans(sync_db, finds + saves + raw + tallies) == []
