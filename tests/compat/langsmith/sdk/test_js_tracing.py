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
