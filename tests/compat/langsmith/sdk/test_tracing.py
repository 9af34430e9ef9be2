"""Run tracing with the real langsmith SDK against a live Plaudit, checked through
Plaudit's GraphQL API."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import langsmith as ls
import pytest
from langsmith import Client, traceable
from langsmith.utils import LangSmithError, LangSmithNotFoundError

from app.domain.validation import MAX_COMMENT_CHARS
from tests.compat.langsmith.sdk.conftest import LiveServer, set_langsmith_env
from tests.conftest import Keys

RUN = """query($id: ID!) { run(id: $id) {
  id name inputs outputs tags metadata parentRunId traceId error model userId sessionId
  promptTokens completionTokens totalTokens startTime endTime
  tracingProject { id name }
} }"""


def run_of(live: LiveServer, keys: Keys, run_id: uuid.UUID | str) -> Any:
    return live.graphql(keys.read, RUN, {"id": str(run_id)})["run"]


@contextmanager
def sdk_deprecations() -> Iterator[None]:
    """read_run and list_runs (the v1 endpoints Plaudit serves) are deprecated in
    langsmith 0.15 in favour of LangSmith's v2 API; they still work."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def trace_answer(client: Client, root: uuid.UUID, child: uuid.UUID) -> Any:
    @traceable(name="answer", tags=["support"], metadata={"thread_id": "conv-1", "user_id": "u-1"})
    def answer(question: str) -> dict[str, str]:
        return {"text": shout(question, langsmith_extra={"run_id": child})}

    @traceable(run_type="llm", metadata={"ls_model_name": "gpt-test"})
    def shout(text: str) -> str:
        return text.upper()

    with ls.tracing_context(enabled=True, client=client, project_name="support-bot"):
        return answer("hi", langsmith_extra={"run_id": root})


def check_traced(live: LiveServer, keys: Keys, root: uuid.UUID, child: uuid.UUID) -> None:
    top = run_of(live, keys, root)
    assert top["name"] == "answer"
    assert top["inputs"] == {"question": "hi"}
    assert top["outputs"] == {"text": "HI"}
    assert top["tags"] == ["support"]
    assert top["parentRunId"] is None and top["traceId"] == str(root)
    assert top["metadata"]["ls_run_type"] == "chain"
    # The LangSmith project is the run's tracing project, not a metadata key.
    assert top["tracingProject"]["name"] == "support-bot"
    assert "ls_session_name" not in top["metadata"]
    assert top["sessionId"] == "conv-1" and top["userId"] == "u-1"
    assert top["endTime"] is not None and top["error"] is None
    inner = run_of(live, keys, child)
    assert inner["name"] == "shout"
    assert inner["parentRunId"] == str(root) and inner["traceId"] == str(root)
    assert inner["metadata"]["ls_run_type"] == "llm"
    assert inner["model"] == "gpt-test"
    assert inner["outputs"] == {"output": "HI"}
    assert inner["tracingProject"] == top["tracingProject"]


def test_traceable_without_batching_posts_and_patches_each_run(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client(batch=False)
    root, child = uuid.uuid4(), uuid.uuid4()
    assert trace_answer(client, root, child) == {"text": "HI"}
    check_traced(live, keys, root, child)


def test_traceable_batched_in_the_background_goes_to_runs_batch(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client(batch=True)
    root, child = uuid.uuid4(), uuid.uuid4()
    trace_answer(client, root, child)
    client.flush()
    check_traced(live, keys, root, child)
    # /info told the SDK to send JSON batches, and it did not fall back from multipart.
    assert client.info.batch_ingest_config is not None
    assert client.info.batch_ingest_config["use_multipart_endpoint"] is False
    assert client._multipart_disabled is False


def test_a_failing_traced_function_records_its_error(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client(batch=True)
    run_id = uuid.uuid4()

    @traceable
    def broken() -> None:
        raise ValueError("the model timed out")

    with (
        ls.tracing_context(enabled=True, client=client),
        pytest.raises(ValueError, match="timed out"),
    ):
        broken(langsmith_extra={"run_id": run_id})
    client.flush()
    run = run_of(live, keys, run_id)
    assert "ValueError" in run["error"] and "the model timed out" in run["error"]
    assert run["endTime"] is not None


def test_create_run_and_update_run(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    run_id = uuid.uuid4()
    start = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    client.create_run(
        "summarize",
        {"text": "long"},
        "llm",
        id=run_id,
        start_time=start,
        project_name="batch-jobs",
        extra={"metadata": {"conversation_id": "c-9", "ls_model_name": "m-1"}},
    )
    created = run_of(live, keys, run_id)
    assert created["name"] == "summarize" and created["endTime"] is None
    assert created["traceId"] == str(run_id)  # a root run is its own trace
    assert created["sessionId"] == "c-9" and created["model"] == "m-1"
    assert created["startTime"].startswith("2025-01-02T03:04:05")

    traceback = "Traceback (most recent call last):\n" + "  frame\n" * 3000 + "KeyError: 'x'"
    client.update_run(
        run_id,
        end_time=start + timedelta(seconds=2),
        outputs={
            "summary": "short",
            "usage_metadata": {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
        },
        error=traceback,
    )
    done = run_of(live, keys, run_id)
    assert done["outputs"]["summary"] == "short"
    assert (done["promptTokens"], done["completionTokens"], done["totalTokens"]) == (12, 3, 15)
    assert done["endTime"].startswith("2025-01-02T03:04:07")
    # A long traceback keeps its end, where the exception is.
    assert len(done["error"]) == MAX_COMMENT_CHARS and done["error"].endswith("KeyError: 'x'")
    # update_run sent no metadata: the stored metadata stays.
    assert done["tracingProject"]["name"] == "batch-jobs"
    assert done["metadata"]["conversation_id"] == "c-9"


def test_batch_ingest_runs(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    trace, child = uuid.uuid4(), uuid.uuid4()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    client.batch_ingest_runs(
        create=[
            {
                "id": trace,
                "trace_id": trace,
                "dotted_order": f"{stamp}{trace}",
                "name": "root",
                "run_type": "chain",
                "inputs": {"a": 1},
                "session_name": "batch",
            },
            {
                "id": child,
                "trace_id": trace,
                "parent_run_id": trace,
                "dotted_order": f"{stamp}{trace}.{stamp}{child}",
                "name": "child",
                "run_type": "tool",
                "inputs": {"b": 2},
            },
        ],
        update=[
            {
                "id": child,
                "trace_id": trace,
                "parent_run_id": trace,
                "dotted_order": f"{stamp}{trace}.{stamp}{child}",
                "outputs": {"c": 3},
            }
        ],
    )
    assert run_of(live, keys, trace)["inputs"] == {"a": 1}
    done = run_of(live, keys, child)
    assert done["inputs"] == {"b": 2} and done["outputs"] == {"c": 3}
    assert done["parentRunId"] == str(trace) and done["metadata"]["ls_run_type"] == "tool"


def test_read_run_list_runs_and_read_project(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    root, child = uuid.uuid4(), uuid.uuid4()
    trace_answer(client, root, child)
    project = client.read_project(project_name="support-bot")
    assert project.name == "support-bot" and str(project.tenant_id) == keys.project_id
    assert str(project.id) == run_of(live, keys, root)["tracingProject"]["id"]
    with sdk_deprecations():
        run = client.read_run(root)
        assert (run.name, run.run_type, str(run.trace_id)) == ("answer", "chain", str(root))
        assert run.session_id == project.id
        assert run.inputs == {"question": "hi"} and run.outputs == {"text": "HI"}
        assert run.metadata["thread_id"] == "conv-1" and "ls_run_type" not in run.metadata
        assert run.end_time is not None and run.status == "success"

        in_trace = list(client.list_runs(trace_id=root))
        assert {r.id for r in in_trace} == {root, child}
        assert [r.id for r in client.list_runs(trace_id=root, is_root=True)] == [root]
        assert [r.id for r in client.list_runs(run_ids=[child])] == [child]
        by_project = list(client.list_runs(project_name="support-bot", limit=1))
        assert len(by_project) == 1
        children = list(client.list_runs(parent_run_id=root))
        assert [(r.id, r.run_type) for r in children] == [(child, "llm")]


def test_keys_of_another_project_or_role_cannot_touch_runs(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys, other_keys: Keys
) -> None:
    root, child = uuid.uuid4(), uuid.uuid4()
    trace_answer(make_client(), root, child)
    stranger = make_client(other_keys.admin)
    with sdk_deprecations(), pytest.raises(LangSmithNotFoundError):
        stranger.read_run(root)
    with sdk_deprecations():
        assert list(stranger.list_runs(trace_id=root)) == []
    # The run id is taken by another project: 409, which the SDK passes over.
    stranger.create_run("steal", {}, "chain", id=root)
    assert run_of(live, keys, root)["name"] == "answer"
    assert live.graphql(other_keys.read, RUN, {"id": str(root)})["run"] is None

    reader = make_client(keys.read)
    with pytest.raises(LangSmithError, match="cannot ingest"):
        reader.create_run("x", {}, "chain", id=uuid.uuid4())
    ingester = make_client(keys.ingest)
    with sdk_deprecations(), pytest.raises(LangSmithError, match="cannot read"):
        ingester.read_run(root)


def test_the_readme_example_configured_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, live: LiveServer, keys: Keys
) -> None:
    """The README's example as written: endpoint, key and tracing from the
    environment, nothing passed to Client()."""
    set_langsmith_env(monkeypatch, API_KEY=keys.admin, TRACING="true", TRACING_V2="true")
    client = Client()
    try:

        @traceable(
            run_type="llm", client=client, metadata={"thread_id": "conv-42", "user_id": "alice"}
        )
        def answer(question: str) -> str:
            return "4"

        run_id = uuid.uuid4()
        answer("2+2?", langsmith_extra={"run_id": run_id})
        client.flush()
        session_id = client.read_project(project_name="default").id
        client.create_feedback(
            run_id,
            "thumbs",
            score=1,
            comment="right",
            session_id=session_id,
            stop_after_attempt=1,  # not in the README: fail at once rather than retry
        )
    finally:
        client.close()
    assert client.api_url == live.url
    run = live.graphql(
        keys.read,
        "query($id: ID!) { run(id: $id) { userId sessionId feedback { key score comment } } }",
        {"id": str(run_id)},
    )["run"]
    assert (run["userId"], run["sessionId"]) == ("alice", "conv-42")
    assert run["feedback"] == [{"key": "thumbs", "score": 1, "comment": "right"}]
