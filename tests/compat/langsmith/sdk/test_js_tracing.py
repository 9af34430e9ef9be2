"""Tracing with the npm `langsmith` package (run by Node.js) against a live Plaudit:
every run written is read back through the SDK and through GraphQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.compat.langsmith.sdk.test_js_client import js_env
from tests.conftest import Keys
from tests.node import run_node

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RUN = """query($id: ID!) { run(id: $id) {
  id name inputs outputs tags metadata parentRunId traceId error startTime endTime latencyMs
  tracingProject { id name }
} }"""


def millis(value: Any) -> int:
    """A time as the JS SDK sends it (epoch ms, or ISO 8601), floored to the
    millisecond: what a MongoDB date keeps."""
    if isinstance(value, int | float):
        return int(value)
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - EPOCH) // timedelta(milliseconds=1)


def check_read_back(written: dict[str, Any], read: dict[str, Any]) -> None:
    """``read`` is a LangSmith Run as the SDK returns it (readRun)."""
    assert read["id"] == written["id"]
    assert read["name"] == written["name"]
    assert read["run_type"] == written["run_type"]
    assert read["inputs"] == written["inputs"]
    assert read["outputs"] == written["outputs"]
    assert read["tags"] == written["tags"]
    assert read["parent_run_id"] == written["parent_run_id"]
    assert read["trace_id"] == written["trace_id"]
    assert read["error"] is None and read["status"] == "success"
    # The SDK adds its LANGSMITH_* environment to the metadata.
    assert written["metadata"].items() <= read["extra"]["metadata"].items()
    assert millis(read["start_time"]) == millis(written["start"])
    assert millis(read["end_time"]) == millis(written["end"])
    if written.get("dotted_order"):
        assert read["dotted_order"] == written["dotted_order"]


def check_graphql(
    live: LiveServer, keys: Keys, written: dict[str, Any], read: dict[str, Any]
) -> None:
    run = live.graphql(keys.read, RUN, {"id": written["id"]})["run"]
    assert run["name"] == written["name"]
    assert run["inputs"] == written["inputs"] and run["outputs"] == written["outputs"]
    assert run["tags"] == written["tags"]
    assert run["parentRunId"] == written["parent_run_id"]
    assert run["traceId"] == written["trace_id"]
    assert run["metadata"] == {**read["extra"]["metadata"], "ls_run_type": written["run_type"]}
    assert run["tracingProject"] == {"id": read["session_id"], "name": written["project"]}
    assert millis(run["startTime"]) == millis(written["start"])
    assert millis(run["endTime"]) == millis(written["end"])
    assert run["latencyMs"] == millis(written["end"]) - millis(written["start"])


def test_js_run_times_in_every_format_and_a_batch_with_one_bad_run(
    live: LiveServer, keys: Keys
) -> None:
    result = run_node("langsmith/run_times.mjs", "times", env=js_env(live, keys.admin))
    written = result["written"]
    # 5 direct runs, 3 batches of root + child, 2 good runs of the mixed batch.
    assert len(written) == 5 + 6 + 2
    for run in written:
        check_read_back(run, result["read"][run["id"]])
        check_graphql(live, keys, run, result["read"][run["id"]])
    # The ordering suffix was sent (a start 1 µs after its end, in the same
    # millisecond), and those runs were kept with a latency of 0 (check_graphql).
    for group in result["groups"]:
        assert group["serialized_start"].endswith("001Z")
    # The bad run is refused alone, and the refusal names it (the SDK logs it).
    assert "404" in result["badRead"]
    refusals = [line for line in result["logged"] if result["bad"] in line]
    assert refusals, result["logged"]
    assert "end_time is before start_time" in refusals[0]


def test_js_traceable_read_back_with_list_runs_and_child_runs(live: LiveServer, keys: Keys) -> None:
    result = run_node("langsmith/tracing.mjs", "js-app", env=js_env(live, keys.admin))
    assert result["result"] == {"answer": "WHAT IS PLAUDIT GIVEN 1 DOC"}
    written, read = result["written"], result["read"]
    project = result["projectRead"]
    assert project["name"] == "js-app" and project["run_count"] == 4
    expected_outputs = {
        "pipeline": {"answer": "WHAT IS PLAUDIT GIVEN 1 DOC"},
        "retrieve": {"outputs": ["doc about what is plaudit"]},
        "llm": {
            "text": "WHAT IS PLAUDIT GIVEN 1 DOC",
            "usage_metadata": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
        },
        "broken": None,
    }
    for name, run in written.items():
        got = read[name]
        assert (got["id"], got["name"], got["run_type"]) == (run["id"], name, run["run_type"])
        assert got["inputs"] == run["inputs"]
        assert got["outputs"] == expected_outputs[name]
        assert (got["trace_id"], got["parent_run_id"]) == (run["trace_id"], run["parent_run_id"])
        assert got["dotted_order"] == run["dotted_order"]
        assert got["session_id"] == project["id"]
        stored = live.graphql(keys.read, RUN, {"id": run["id"]})["run"]
        assert stored["name"] == name and stored["inputs"] == run["inputs"]
        assert stored["outputs"] == expected_outputs[name]
        assert stored["tracingProject"] == {"id": project["id"], "name": "js-app"}
        assert millis(stored["startTime"]) == millis(got["start_time"])
        assert millis(stored["endTime"]) == millis(got["end_time"])
    assert read["pipeline"]["tags"] == ["app"] and read["retrieve"]["tags"] == ["search"]
    assert read["pipeline"]["extra"]["metadata"]["thread_id"] == "js-thread"
    assert read["llm"]["total_tokens"] == 7 and read["llm"]["prompt_tokens"] == 5
    assert "the tool broke" in read["broken"]["error"] and read["broken"]["status"] == "error"
    pipeline = live.graphql(
        keys.read,
        "query($id: ID!) { run(id: $id) { sessionId userId } }",
        {"id": written["pipeline"]["id"]},
    )["run"]
    assert pipeline == {"sessionId": "js-thread", "userId": "js-user"}

    ids = {name: run["id"] for name, run in written.items()}
    tree = result["tree"]
    assert [c["id"] for c in tree["child_runs"]] == [ids["retrieve"], ids["llm"]]
    assert {r["id"] for r in result["listed"]} == set(ids.values())
    assert {r["id"] for r in result["roots"]} == {ids["pipeline"], ids["broken"]}
    assert {r["id"] for r in result["inTrace"]} == {ids["pipeline"], ids["retrieve"], ids["llm"]}
    assert [r["id"] for r in result["llms"]] == [ids["llm"]]
    assert [r["id"] for r in result["failed"]] == [ids["broken"]]
    assert not [line for line in result["logged"] if "Error" in line], result["logged"]
