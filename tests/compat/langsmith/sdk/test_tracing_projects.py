"""LangSmith projects are Plaudit tracing projects: created, read, listed, updated
and deleted with the real Python SDK, and checked through GraphQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from langsmith import Client
from langsmith.utils import LangSmithConflictError, LangSmithError, LangSmithNotFoundError

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

TRACING_PROJECT = """query($id: ID!) { tracingProject(id: $id) {
  id name description extra startTime endTime runCount
} }"""
RUN = "query($id: ID!) { run(id: $id) { tracingProject { id name } } }"


def run_in(client: Client, project_name: str | None, **fields: object) -> uuid.UUID:
    run_id = uuid.uuid4()
    extra = {"project_name": project_name} if project_name else {}
    client.create_run("step", {"q": 1}, "chain", id=run_id, **extra, **fields)
    return run_id


def test_create_read_list_update_delete(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    created = client.create_project(
        "evals-2025", description="nightly evals", metadata={"team": "search", "n": 3}
    )
    assert created.name == "evals-2025" and created.description == "nightly evals"
    assert created.metadata == {"team": "search", "n": 3}
    assert str(created.tenant_id) == keys.project_id and created.reference_dataset_id is None
    stored = live.graphql(keys.read, TRACING_PROJECT, {"id": str(created.id)})["tracingProject"]
    assert stored["name"] == "evals-2025" and stored["description"] == "nightly evals"
    assert stored["extra"] == {"metadata": {"team": "search", "n": 3}} and stored["runCount"] == 0

    with pytest.raises(LangSmithConflictError):
        client.create_project("evals-2025")
    # upsert: the existing one, with what was sent.
    again = client.create_project("evals-2025", description="renamed later", upsert=True)
    assert again.id == created.id and again.description == "renamed later"

    by_name = client.read_project(project_name="evals-2025")
    by_id = client.read_project(project_id=created.id)
    assert by_name.id == by_id.id == created.id and by_id.run_count == 0
    assert client.has_project("evals-2025") and not client.has_project("nope")
    with pytest.raises(LangSmithNotFoundError):
        client.read_project(project_name="nope")
    with pytest.raises(LangSmithNotFoundError):
        client.read_project(project_id=uuid.uuid4())

    client.create_project("chat-prod", metadata={"team": "chat"})
    assert [p.name for p in client.list_projects(name="chat-prod")] == ["chat-prod"]
    assert {p.name for p in client.list_projects()} == {"evals-2025", "chat-prod"}
    assert [p.name for p in client.list_projects(name_contains="EVALS")] == ["evals-2025"]
    assert [p.name for p in client.list_projects(metadata={"team": "chat"})] == ["chat-prod"]
    assert [p.name for p in client.list_projects(project_ids=[created.id])] == ["evals-2025"]
    assert [p.name for p in client.list_projects(limit=1)] == ["chat-prod"]  # newest first
    assert list(client.list_projects(reference_free=False)) == []

    ended = datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)
    updated = client.update_project(
        created.id, name="evals-2025-05", description="done", metadata={"team": "x"}, end_time=ended
    )
    assert (updated.name, updated.description, updated.end_time) == ("evals-2025-05", "done", ended)
    assert updated.metadata == {"team": "x"}
    # Fields left out (sent as null) keep their value.
    kept = client.update_project(created.id, description="still done")
    assert (kept.name, kept.end_time, kept.metadata) == ("evals-2025-05", ended, {"team": "x"})
    with pytest.raises(LangSmithConflictError):
        client.update_project(created.id, name="chat-prod")

    client.delete_project(project_name="chat-prod")
    assert not client.has_project("chat-prod")
    assert live.graphql(keys.read, TRACING_PROJECT, {"id": str(created.id)})["tracingProject"]


def test_runs_group_by_project_and_keep_it_through_a_rename(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    first = run_in(client, "support")
    second = run_in(client, "support")
    elsewhere = run_in(client, None)  # the SDK's default project: "default"
    support = client.read_project(project_name="support")
    assert support.run_count == 2
    assert client.read_project(project_name="default").run_count == 1
    for run_id, name in ((first, "support"), (second, "support"), (elsewhere, "default")):
        assert (
            live.graphql(keys.read, RUN, {"id": str(run_id)})["run"]["tracingProject"]["name"]
            == name
        )

    client.update_project(support.id, name="support-v2")
    assert live.graphql(keys.read, RUN, {"id": str(first)})["run"]["tracingProject"] == {
        "id": str(support.id),
        "name": "support-v2",
    }
    # A project with runs is not deleted: Plaudit does not delete runs.
    with pytest.raises(LangSmithConflictError, match="has 2 run"):
        client.delete_project(project_id=support.id)
    assert client.read_project(project_id=support.id).run_count == 2
    # A run naming the old name starts a new tracing project of that name.
    run_in(client, "support")
    assert client.read_project(project_name="support").id != support.id


def test_include_stats(make_client: Callable[..., Client], live: LiveServer, keys: Keys) -> None:
    client = make_client()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ids = []
    for seconds, tokens, error in ((1, 10, None), (2, 20, None), (4, 30, "boom")):
        run_id = uuid.uuid4()
        client.create_run(
            "llm-call",
            {"q": 1},
            "llm",
            id=run_id,
            project_name="stats",
            start_time=start,
            end_time=start.replace(second=seconds),
            outputs={
                "usage_metadata": {
                    "input_tokens": tokens,
                    "output_tokens": 1,
                    "total_tokens": tokens + 1,
                }
            },
            error=error,
        )
        ids.append(run_id)
    plain = client.read_project(project_name="stats")
    client.create_feedback(ids[0], "thumbs", score=1, session_id=plain.id)
    client.create_feedback(ids[1], "thumbs", score=0, session_id=plain.id)
    client.create_feedback(ids[1], "note", comment="meh", session_id=plain.id)

    assert plain.run_count == 3 and plain.total_tokens is None and plain.feedback_stats is None
    project = client.read_project(project_name="stats", include_stats=True)
    assert project.run_count == 3
    assert project.last_run_start_time == start
    assert (project.prompt_tokens, project.completion_tokens, project.total_tokens) == (60, 3, 63)
    assert project.latency_p50 is not None and project.latency_p50.total_seconds() == 2
    assert project.latency_p99 is not None and project.latency_p99.total_seconds() == 4
    assert project.error_rate == pytest.approx(1 / 3)
    assert project.feedback_stats == {
        "note": {"n": 1, "avg": None, "min": None, "max": None},
        "thumbs": {"n": 2, "avg": 0.5, "min": 0.0, "max": 1.0},
    }
    [listed] = client.list_projects(name="stats", include_stats=True)
    assert listed.total_tokens == 63


def test_roles_and_other_projects(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys, other_keys: Keys
) -> None:
    mine = make_client().create_project("mine")
    stranger = make_client(other_keys.admin)
    with pytest.raises(LangSmithNotFoundError):
        stranger.read_project(project_id=mine.id)
    with pytest.raises(LangSmithNotFoundError):
        stranger.update_project(mine.id, description="x")
    with pytest.raises(LangSmithNotFoundError):
        stranger.delete_project(project_id=mine.id)
    assert list(stranger.list_projects()) == []
    # A run naming another project's tracing project id is refused (409: the SDK
    # passes over it), and nothing is grouped there.
    stranger.create_run("x", {}, "chain", id=uuid.uuid4(), session_id=mine.id)
    assert make_client().read_project(project_id=mine.id).run_count == 0

    ingester = make_client(keys.ingest)
    ingester.create_project("by-ingest")  # ingesting creates tracing projects anyway
    with pytest.raises(LangSmithError, match="cannot admin"):
        ingester.update_project(mine.id, description="x")
    with pytest.raises(LangSmithError, match="cannot admin"):
        ingester.delete_project(project_id=mine.id)
