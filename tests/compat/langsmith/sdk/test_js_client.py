"""The npm `langsmith` Client (run by Node.js) against a live Plaudit."""

from __future__ import annotations

import uuid

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys
from tests.node import run_node


def js_env(live: LiveServer, key: str) -> dict[str, str]:
    return {"LANGSMITH_ENDPOINT": live.url, "LANGSMITH_API_KEY": key, "LANGSMITH_TRACING": "false"}


def test_js_feedback_round_trip(live: LiveServer, keys: Keys) -> None:
    run_id = str(uuid.uuid4())
    live.graphql(
        keys.admin, "mutation($id: ID!) { ingestRuns(runs: [{id: $id}]) { id } }", {"id": run_id}
    )
    result = run_node(
        "langsmith/feedback_roundtrip.mjs", run_id, keys.project_id, env=js_env(live, keys.admin)
    )
    created = result["created"]
    assert created["run_id"] == run_id and created["key"] == "helpful"
    for read in (result["read"], *result["listed"]):
        assert {k: read[k] for k in ("id", "run_id", "key", "score", "value", "comment")} == {
            "id": created["id"],
            "run_id": run_id,
            "key": "helpful",
            "score": 0.75,
            "value": "mostly",
            "comment": "good, a bit long",
        }
        assert read["correction"] == {"answer": "4"}
    assert len(result["listed"]) == 1
    stored = live.graphql(
        keys.read,
        "query($id: ID!) { feedbackById(id: $id) { score value comment correction sourceInfo } }",
        {"id": created["id"]},
    )["feedbackById"]
    assert stored == {
        "score": 0.75,
        "value": "mostly",
        "comment": "good, a bit long",
        "correction": {"answer": "4"},
        "sourceInfo": {"reviewer": "js"},
    }
