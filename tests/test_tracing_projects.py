"""Tracing projects through GraphQL, and the start-up migration of runs written by
earlier versions (which kept the LangSmith project name in the metadata)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from app.main import create_app
from app.settings import Settings
from tests.conftest import GraphQLClient, Keys, make_project
from tests.helpers import make_run

RUN = """query($id: ID!) { run(id: $id) {
  metadata tracingProjectId tracingProject { id name runCount }
} }"""
PROJECTS = """query($first: Int, $after: String) {
  tracingProjects(first: $first, after: $after) {
    edges { cursor node { id name runCount createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_runs_name_their_tracing_project_and_are_filtered_by_it(
    gql: GraphQLClient,
) -> None:
    a = await make_run(gql, tracingProjectName="alpha")
    b = await make_run(gql, tracingProjectName="beta")
    plain = await make_run(gql)
    alpha = (await gql.ok(RUN, {"id": a}))["run"]["tracingProject"]
    assert alpha["name"] == "alpha" and alpha["runCount"] == 1
    assert (await gql.ok(RUN, {"id": plain}))["run"]["tracingProject"]["name"] == "default"
    # By id, into an existing one.
    again = await make_run(gql, tracingProjectId=alpha["id"])
    assert (await gql.ok(RUN, {"id": again}))["run"]["tracingProjectId"] == alpha["id"]

    data = await gql.ok(
        "query($t: ID!) { runs(filter: {tracingProjectId: $t}) { nodes { id } } }",
        {"t": alpha["id"]},
    )
    assert {n["id"] for n in data["runs"]["nodes"]} == {a, again}
    by_name = await gql.ok('{ tracingProject(name: "beta") { id runCount } }')
    assert by_name["tracingProject"]["runCount"] == 1
    beta = (await gql.ok(RUN, {"id": b}))["run"]["tracingProject"]
    assert by_name["tracingProject"]["id"] == beta["id"]
    assert (await gql.ok('{ tracingProject(name: "nope") { id } }'))["tracingProject"] is None
    error = await gql.error("{ tracingProject { id } }")
    assert error["message"] == "give id or name, not both"


async def test_tracing_projects_page_by_keyset(gql: GraphQLClient, keys: Keys) -> None:
    for name in ("one", "two", "three"):
        await make_run(gql, tracingProjectName=name)
    first = (await gql.ok(PROJECTS, {"first": 2}))["tracingProjects"]
    assert first["pageInfo"]["hasNextPage"]
    rest = (await gql.ok(PROJECTS, {"first": 2, "after": first["pageInfo"]["endCursor"]}))[
        "tracingProjects"
    ]
    assert not rest["pageInfo"]["hasNextPage"]
    names = [e["node"]["name"] for e in first["edges"] + rest["edges"]]
    # No "default": every run named its tracing project.
    assert sorted(names) == ["one", "three", "two"]
    created = [e["node"]["createdAt"] for e in first["edges"] + rest["edges"]]
    assert created == sorted(created, reverse=True)  # newest first


async def test_another_projects_tracing_project_is_not_seen(
    gql: GraphQLClient, other_keys: Keys, http: httpx.AsyncClient
) -> None:
    run_id = await make_run(gql, tracingProjectName="private")
    tracing_project_id = (await gql.ok(RUN, {"id": run_id}))["run"]["tracingProjectId"]
    stranger = GraphQLClient(http, other_keys.admin)
    found = await stranger.ok(
        "query($id: ID!) { tracingProject(id: $id) { id } }", {"id": tracing_project_id}
    )
    assert found["tracingProject"] is None
    error = await stranger.error(
        "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }",
        {"runs": [{"id": str(uuid.uuid4()), "tracingProjectId": tracing_project_id}]},
    )
    assert error["extensions"]["code"] == "CONFLICT"


def legacy_run(project_id: str, metadata: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    doc = {
        "_id": str(uuid.uuid4()),
        "project_id": project_id,
        "name": "old",
        "tags": [],
        "start_time": now,
        "created_at": now,
        "updated_at": now,
    }
    if metadata is not None:
        doc["metadata"] = metadata
    return doc


async def test_runs_of_earlier_versions_get_a_tracing_project_at_start_up(
    settings: Settings, sync_db: Any
) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        keys = await make_project(app, "acme")
    docs = [
        legacy_run(keys.project_id, {"ls_session_name": "support", "ls_run_type": "llm"}),
        legacy_run(keys.project_id, {"ls_session_name": "support"}),
        legacy_run(keys.project_id, {"thread_id": "t-1"}),
        legacy_run(keys.project_id, None),
        legacy_run(keys.project_id, "not an object"),
    ]
    sync_db["runs"].insert_many(docs)

    for _ in range(2):  # the second start has nothing left to do
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                gql = GraphQLClient(http, keys.read)
                runs = [(await gql.ok(RUN, {"id": d["_id"]}))["run"] for d in docs]
        names = [r["tracingProject"]["name"] for r in runs]
        assert names == ["support", "support", "default", "default", "default"]
        assert runs[0]["tracingProject"]["runCount"] == 2
        # The name moved out of the metadata; the rest stays as it was.
        assert [r["metadata"] for r in runs] == [
            {"ls_run_type": "llm"},
            {},
            {"thread_id": "t-1"},
            None,
            "not an object",
        ]
    assert sync_db["tracing_projects"].count_documents({"project_id": keys.project_id}) == 2
