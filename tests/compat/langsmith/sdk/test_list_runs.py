"""list_runs with each of its arguments and filter strings, and
read_run(load_child_runs=True), with the real Python SDK against a live Plaudit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import langsmith as ls
import pytest
from langsmith import Client, traceable

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.compat.langsmith.sdk.test_tracing import sdk_deprecations
from tests.conftest import Keys


def trace_pipeline(client: Client, project: str, question: str) -> dict[str, uuid.UUID]:
    """pipeline -> retrieve, answer -> llm; ids by name."""
    ids = {name: uuid.uuid4() for name in ("pipeline", "retrieve", "answer", "llm")}

    @traceable(run_type="retriever", tags=["search"])
    def retrieve(q: str) -> list[str]:
        return [f"doc about {q}"]

    @traceable(run_type="llm", metadata={"ls_model_name": "m-1"})
    def llm(prompt: str) -> dict[str, Any]:
        return {
            "text": prompt.upper(),
            "usage_metadata": {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10},
        }

    @traceable(run_type="chain")
    def answer(q: str, docs: list[str]) -> str:
        return str(llm(q, langsmith_extra={"run_id": ids["llm"]})["text"])

    @traceable(run_type="chain", metadata={"env": "prod"}, tags=["pipeline"])
    def pipeline(q: str) -> str:
        docs = retrieve(q, langsmith_extra={"run_id": ids["retrieve"]})
        return answer(q, docs, langsmith_extra={"run_id": ids["answer"]})

    with ls.tracing_context(enabled=True, client=client, project_name=project):
        pipeline(question, langsmith_extra={"run_id": ids["pipeline"]})
    return ids


@pytest.fixture
def traced(make_client: Callable[..., Client]) -> tuple[Client, dict[str, uuid.UUID], uuid.UUID]:
    client = make_client(batch=True)
    ids = trace_pipeline(client, "qa", "what is plaudit")
    failed = uuid.uuid4()

    @traceable(run_type="tool")
    def broken() -> None:
        raise RuntimeError("tool exploded")

    with (
        ls.tracing_context(enabled=True, client=client, project_name="qa"),
        pytest.raises(RuntimeError),
    ):
        broken(langsmith_extra={"run_id": failed})
    trace_pipeline(client, "elsewhere", "not this one")
    client.flush()
    return client, ids, failed


def listed(client: Client, **kwargs: Any) -> set[uuid.UUID]:
    with sdk_deprecations():
        return {run.id for run in client.list_runs(**kwargs)}


def test_list_runs_arguments(
    traced: tuple[Client, dict[str, uuid.UUID], uuid.UUID], live: LiveServer, keys: Keys
) -> None:
    client, ids, failed = traced
    every = {*ids.values(), failed}
    assert listed(client, project_name="qa") == every
    qa = client.read_project(project_name="qa")
    assert listed(client, project_id=qa.id) == every
    assert listed(client, project_name="qa", run_type="llm") == {ids["llm"]}
    assert listed(client, project_name="qa", error=True) == {failed}
    assert listed(client, project_name="qa", error=False) == set(ids.values())
    assert listed(client, project_name="qa", is_root=True) == {ids["pipeline"], failed}
    assert listed(client, trace_id=ids["pipeline"]) == set(ids.values())
    assert listed(client, parent_run_id=ids["pipeline"]) == {ids["retrieve"], ids["answer"]}
    assert listed(client, project_name="qa", run_ids=[ids["llm"], failed]) == {ids["llm"], failed}
    yesterday = datetime.now(UTC) - timedelta(days=1)
    assert listed(client, project_name="qa", start_time=yesterday) == every
    assert (
        listed(client, project_name="qa", start_time=datetime.now(UTC) + timedelta(days=1)) == set()
    )
    with sdk_deprecations():
        assert len(list(client.list_runs(project_name="qa", limit=2))) == 2
        [selected] = client.list_runs(run_ids=[ids["llm"]], select=["outputs"])
    assert selected.outputs is not None and selected.outputs["text"] == "WHAT IS PLAUDIT"
    assert selected.inputs == {}  # not selected: not sent
    assert selected.name == "llm" and selected.run_type == "llm"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('eq(run_type, "retriever")', {"retrieve"}),
        ('and(eq(run_type, "chain"), eq(is_root, true))', {"pipeline"}),
        ('has(tags, "search")', {"retrieve"}),
        ("gt(total_tokens, 5)", {"llm"}),
        # The SDK passes a run's metadata on to its children.
        (
            'and(eq(metadata_key, "env"), eq(metadata_value, "prod"))',
            {"pipeline", "retrieve", "answer", "llm"},
        ),
        ("""has(metadata, '{"ls_model_name": "m-1"}')""", {"llm"}),
        ('search("doc about")', {"retrieve", "answer"}),
        ('or(eq(name, "llm"), neq(error, null))', {"llm", "broken"}),
        ('not(in(run_type, ["chain", "tool"]))', {"retrieve", "llm"}),
    ],
)
def test_list_runs_filter_strings(
    traced: tuple[Client, dict[str, uuid.UUID], uuid.UUID], text: str, names: set[str]
) -> None:
    client, ids, failed = traced
    by_id = {run_id: name for name, run_id in ids.items()} | {failed: "broken"}
    assert {by_id[i] for i in listed(client, project_name="qa", filter=text)} == names


def test_feedback_filters(traced: tuple[Client, dict[str, uuid.UUID], uuid.UUID]) -> None:
    client, ids, _ = traced
    session_id = client.read_project(project_name="qa").id
    client.create_feedback(ids["llm"], "correct", score=True, session_id=session_id)
    client.create_feedback(ids["answer"], "correct", score=0.25, session_id=session_id)
    scored = 'and(eq(feedback_key, "correct"), gte(feedback_score, 0.5))'
    assert listed(client, project_name="qa", filter=scored) == {ids["llm"]}
    assert listed(client, project_name="qa", filter='eq(feedback_key, "correct")') == {
        ids["llm"],
        ids["answer"],
    }
    [run] = listed_runs(client, run_ids=[ids["answer"]])
    assert run.feedback_stats == {"correct": {"n": 1, "avg": 0.25, "min": 0.25, "max": 0.25}}


def listed_runs(client: Client, **kwargs: Any) -> list[Any]:
    with sdk_deprecations():
        return list(client.list_runs(**kwargs))


def test_read_run_with_its_child_runs(
    traced: tuple[Client, dict[str, uuid.UUID], uuid.UUID],
) -> None:
    client, ids, _ = traced
    with sdk_deprecations():
        root = client.read_run(ids["pipeline"], load_child_runs=True)
        middle = client.read_run(ids["answer"], load_child_runs=True)
    assert root.child_runs is not None
    assert [c.id for c in root.child_runs] == [ids["retrieve"], ids["answer"]]
    answer = root.child_runs[1]
    assert answer.child_runs is not None and [c.id for c in answer.child_runs] == [ids["llm"]]
    assert answer.child_runs[0].outputs is not None
    assert answer.child_runs[0].outputs["text"] == "WHAT IS PLAUDIT"
    # From the middle of the trace: its subtree only.
    assert middle.child_runs is not None and [c.id for c in middle.child_runs] == [ids["llm"]]
