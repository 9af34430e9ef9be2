"""Every feedback and presigned-token call of the npm `langsmith` Client (run by
Node.js, tests/js/langsmith/) against a live Plaudit. Every field written is read
back through the SDK and through Plaudit's GraphQL API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys
from tests.node import run_node

INGEST = "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id tracingProjectId } }"
FEEDBACK = """query($id: ID!) { feedbackById(id: $id) {
  id runId key score value comment correction sourceType sourceInfo sourceRunId userId
  retracted pending history { change via }
} }"""
ON_RUN = """query($r: ID!) { feedback(filter: {runIds: [$r]}, first: 100) {
  nodes { id key score value comment correction sourceType sourceInfo pending }
} }"""
KEYS = "{ feedbackKeys { key kind min max enforced categories { value label } } }"


def js_env(live: LiveServer, key: str) -> dict[str, str]:
    return {"LANGSMITH_ENDPOINT": live.url, "LANGSMITH_API_KEY": key, "LANGSMITH_TRACING": "false"}


def ingest(live: LiveServer, keys: Keys, count: int) -> list[Any]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    data = live.graphql(keys.admin, INGEST, {"runs": [{"id": i, "name": "chat"} for i in ids]})
    return list(data["ingestRuns"])


def new_runs(live: LiveServer, keys: Keys, count: int) -> list[str]:
    return [run["id"] for run in ingest(live, keys, count)]


def stored(live: LiveServer, keys: Keys, feedback_id: str) -> Any:
    return live.graphql(keys.read, FEEDBACK, {"id": feedback_id})["feedbackById"]


def test_every_feedback_call(live: LiveServer, keys: Keys) -> None:
    run, judge = ingest(live, keys, 2)
    run_id, judge_run = run["id"], judge["id"]
    # The run's LangSmith project (a tracing project): "default", as none was named.
    session_id = run["tracingProjectId"]
    experiment = str(uuid.uuid4())
    out = run_node(
        "langsmith/feedback_calls.mjs",
        run_id,
        judge_run,
        session_id,
        experiment,
        env=js_env(live, keys.admin),
    )
    feedback_id = out["feedbackId"]

    # createFeedback, every option, read back through the SDK...
    read = out["read"]
    assert read["id"] == feedback_id == out["created"]["id"]
    assert (read["run_id"], read["trace_id"], read["key"]) == (run_id, run_id, "helpfulness")
    assert (read["score"], read["value"], read["comment"]) == (0.8123, "good", "clear answer")
    assert read["correction"] == {"text": "a clearer answer"}
    assert read["feedback_source"] == {
        "type": "model",
        "metadata": {"reviewer": "js", "__run": {"run_id": judge_run}},
        "user_id": None,
    }
    assert read["comparative_experiment_id"] == experiment
    assert read["session_id"] == session_id
    # ... and through GraphQL (updateFeedback has changed it since).
    updated = stored(live, keys, feedback_id)
    assert (updated["runId"], updated["key"], updated["sourceType"]) == (
        run_id,
        "helpfulness",
        "MODEL",
    )
    assert updated["sourceInfo"] == {"reviewer": "js"} and updated["sourceRunId"] == judge_run
    assert [h["change"] for h in updated["history"]] == ["created", "updated"]
    assert {h["via"] for h in updated["history"]} == {"rest"}
    # updateFeedback: every field; null clears (the SDK's documented meaning).
    assert (updated["score"], updated["value"], updated["comment"]) == (0.25, "fine", None)
    assert updated["correction"] == {"text": "fine as it is"}
    sdk_updated = out["updated"]
    assert (sdk_updated["score"], sdk_updated["value"], sdk_updated["comment"]) == (
        0.25,
        "fine",
        None,
    )
    # The feedbackConfig it sent declared the key, not enforced (LangSmith's rule).
    declared = {k["key"]: k for k in live.graphql(keys.read, KEYS)["feedbackKeys"]}
    assert declared["helpfulness"] == {
        "key": "helpfulness",
        "kind": "CONTINUOUS",
        "min": 0,
        "max": 1,
        "enforced": False,
        "categories": [],
    }

    # The object form with a boolean score and the app source type.
    app = out["app"]
    assert app["key"] == "tone" and app["score"] is True

    # logEvaluationFeedback: one record per result, source "model".
    evaluations = {f["key"]: f for f in out["evaluations"]}
    assert set(evaluations) == {"correct", "style"}
    correct, style = evaluations["correct"], evaluations["style"]
    assert (correct["score"], correct["comment"], correct["run_id"]) == (1, "matches", run_id)
    assert correct["feedback_source"]["type"] == "model"
    assert correct["feedback_source"]["metadata"] == {
        "judge": "exact",
        "suite": "js",
        "__run": {"run_id": judge_run},
    }
    assert (style["score"], style["value"], style["correction"]) == (0, "terse", {"text": "longer"})
    assert [r["key"] for r in out["evaluated"]] == ["correct", "style"]
    for record in out["evaluations"]:
        graphql = stored(live, keys, record["id"])
        assert (graphql["key"], graphql["score"], graphql["sourceType"]) == (
            record["key"],
            record["score"],
            "MODEL",
        )

    # listFeedback with each filter.
    on_run = sorted([feedback_id, app["id"], correct["id"], style["id"]])
    listed = out["listed"]
    assert listed["byRun"] == on_run
    assert listed["byKey"] == [app["id"]]
    assert listed["bySource"] == sorted([feedback_id, correct["id"], style["id"]])
    assert listed["byRunKeyAndSource"] == [app["id"]]
    assert listed["otherRun"] == []

    # deleteFeedback: gone from lists and reads.
    assert out["afterDelete"] == sorted([feedback_id, correct["id"], style["id"]])
    assert "404" in out["readDeleted"]
    assert stored(live, keys, app["id"]) is None


def test_presigned_tokens(live: LiveServer, keys: Keys) -> None:
    [run_id] = new_runs(live, keys, 1)
    out = run_node("langsmith/presigned_tokens.mjs", run_id, env=js_env(live, keys.admin))
    asked = datetime.fromtimestamp(out["asked"] / 1000, UTC)
    tokens = out["tokens"]

    def lifetime(name: str) -> timedelta:
        return datetime.fromisoformat(tokens[name]["expires_at"]) - asked

    for name, expected in {
        "hours": timedelta(hours=2),
        "days": timedelta(days=1),
        "minutes": timedelta(minutes=5),
        "default": timedelta(hours=3),
    }.items():
        assert expected - timedelta(seconds=5) <= lifetime(name) <= expected + timedelta(seconds=60)
    assert datetime.fromisoformat(tokens["iso"]["expires_at"]) == datetime.fromisoformat(out["at"])
    for name, token in tokens.items():
        assert token["url"].endswith(f"/api/v1/feedback/tokens/{token['id']}"), name
    assert {t["feedback_key"] for t in tokens.values()} == {
        "thumbs",
        "stars",
        "topic",
        "tone",
        "effort",
    }

    # listPresignedFeedbackTokens: every token, read back as created.
    listed = {t["id"]: t for t in out["listed"]}
    assert listed == {t["id"]: t for t in tokens.values()}

    # The feedbackConfigs declared their keys (the first time; not enforced).
    declared = {k["key"]: k for k in live.graphql(keys.read, KEYS)["feedbackKeys"]}
    assert (declared["stars"]["kind"], declared["stars"]["min"], declared["stars"]["max"]) == (
        "CONTINUOUS",
        1,
        5,
    )
    assert declared["topic"]["categories"] == [
        {"value": 0, "label": "billing"},
        {"value": 1, "label": "returns"},
    ]
    assert not declared["stars"]["enforced"] and not declared["topic"]["enforced"]

    # Submissions through the token URLs: a comment after a vote keeps the vote.
    assert [s["status"] for s in out["submitted"]] == [200, 200, 200]
    recorded = {
        f["key"]: f for f in live.graphql(keys.read, ON_RUN, {"r": run_id})["feedback"]["nodes"]
    }
    assert set(recorded) == {"stars", "topic"}
    stars = recorded["stars"]
    assert (stars["score"], stars["comment"], stars["sourceType"]) == (
        4,
        "good, and a comment later",
        "APP",
    )
    assert stars["sourceInfo"]["page"] == "/help"
    assert (recorded["topic"]["score"], recorded["topic"]["value"]) == (1, "returns")


def test_feedback_and_a_token_before_the_run(live: LiveServer, keys: Keys) -> None:
    """The JS SDK does not retry a 404; the feedback is accepted at once, pending,
    and attaches when the run arrives."""
    run_id = str(uuid.uuid4())
    out = run_node(
        "langsmith/feedback_before_run.mjs", run_id, keys.project_id, env=js_env(live, keys.admin)
    )
    feedback_id = out["created"]["id"]
    assert (out["read"]["id"], out["read"]["run_id"], out["read"]["score"]) == (
        feedback_id,
        run_id,
        1,
    )
    # Its LangSmith project is the run's, unknown until the run arrives.
    assert out["read"]["session_id"] is None
    assert out["listed"] == [feedback_id]
    assert out["token"]["url"].endswith(out["token"]["id"])
    assert stored(live, keys, feedback_id)["pending"] is True

    live.graphql(keys.admin, INGEST, {"runs": [{"id": run_id, "name": "late"}]})
    attached = stored(live, keys, feedback_id)
    assert (attached["pending"], attached["runId"], attached["comment"]) == (False, run_id, "early")
