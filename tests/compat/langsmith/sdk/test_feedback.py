"""Feedback with the real langsmith SDK against a live Plaudit, checked through
Plaudit's GraphQL API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langsmith import Client
from langsmith.schemas import FeedbackSourceType
from langsmith.utils import LangSmithConflictError, LangSmithError, LangSmithNotFoundError

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.conftest import Keys

FEEDBACK = """query($id: ID!) { feedbackById(id: $id) {
  id runId key score value comment correction sourceType sourceInfo sourceRunId userId
  history { change by via }
} }"""
KEY = """query($key: String!) { feedbackKey(key: $key) {
  key kind min max higherIsBetter enforced categories { value label }
} }"""
PENDING = "query($id: ID!) { feedbackById(id: $id) { pending run { id } } }"


def feedback_of(live: LiveServer, keys: Keys, feedback_id: uuid.UUID | str) -> Any:
    return live.graphql(keys.read, FEEDBACK, {"id": str(feedback_id)})["feedbackById"]


def new_run(client: Client) -> uuid.UUID:
    run_id = uuid.uuid4()
    client.create_run("chat", {"q": "hi"}, "llm", id=run_id, outputs={"a": "hello"})
    return run_id


def test_create_read_update_delete(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    run_id, judge_run = new_run(client), new_run(client)
    # The runs' LangSmith project (a tracing project): the SDK's default.
    session_id = client.read_project(project_name="default").id
    feedback_id, group, experiment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    created = client.create_feedback(
        run_id,
        "helpfulness",
        score=0.8,
        value="good",
        comment="clear answer",
        correction={"text": "a clearer answer"},
        source_info={"reviewer": "ann"},
        feedback_source_type=FeedbackSourceType.MODEL,
        source_run_id=judge_run,
        feedback_id=feedback_id,
        trace_id=run_id,
        session_id=session_id,
        feedback_group_id=group,
        comparative_experiment_id=experiment,
        extra={"$odd.key": 1},
    )
    assert created.id == feedback_id

    stored = feedback_of(live, keys, feedback_id)
    assert stored["runId"] == str(run_id) and stored["key"] == "helpfulness"
    assert (stored["score"], stored["value"], stored["comment"]) == (0.8, "good", "clear answer")
    assert stored["correction"] == {"text": "a clearer answer"}
    assert stored["sourceType"] == "MODEL" and stored["sourceInfo"] == {"reviewer": "ann"}
    assert stored["sourceRunId"] == str(judge_run)
    [history] = stored["history"]
    assert history["change"] == "created" and history["via"] == "rest"
    assert history["by"].startswith("key:")

    read = client.read_feedback(feedback_id)
    assert (read.run_id, read.trace_id, read.key, read.score) == (
        run_id,
        run_id,
        "helpfulness",
        0.8,
    )
    assert read.feedback_source is not None and read.feedback_source.type == "model"
    assert read.feedback_source.metadata == {"reviewer": "ann", "__run": {"run_id": str(judge_run)}}
    assert (read.feedback_group_id, read.comparative_experiment_id) == (group, experiment)
    assert read.session_id == session_id and read.extra == {"$odd.key": 1}

    client.update_feedback(feedback_id, score=0.2, comment=None)
    updated = feedback_of(live, keys, feedback_id)
    assert (updated["score"], updated["comment"], updated["value"]) == (0.2, None, "good")
    assert [h["change"] for h in updated["history"]] == ["created", "updated"]
    client.update_feedback(feedback_id)  # nothing to change: accepted, nothing changes
    assert len(feedback_of(live, keys, feedback_id)["history"]) == 2

    client.delete_feedback(feedback_id)
    assert feedback_of(live, keys, feedback_id) is None
    with pytest.raises(LangSmithNotFoundError):
        client.read_feedback(feedback_id)
    # A deleted record never comes back, even when the same create is sent again.
    with pytest.raises(LangSmithConflictError):
        client.create_feedback(
            run_id, "helpfulness", score=1, feedback_id=feedback_id, session_id=session_id
        )


def test_create_is_idempotent_on_the_feedback_id(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    run_id, feedback_id = new_run(client), uuid.uuid4()
    for score in (1, 0):
        client.create_feedback(
            run_id, "thumbs", score=score, feedback_id=feedback_id, session_id=keys.project_id
        )
    stored = feedback_of(live, keys, feedback_id)
    assert stored["score"] == 1 and len(stored["history"]) == 1


def test_list_feedback_filters_and_pages(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    client = make_client()
    first, second, busy = new_run(client), new_run(client), new_run(client)
    before = datetime.now(UTC) - timedelta(seconds=1)

    def give(run_id: uuid.UUID, key: str, **fields: Any) -> uuid.UUID:
        return client.create_feedback(run_id, key, session_id=keys.project_id, **fields).id

    helpful = give(first, "helpfulness", score=1, comment="thanks")
    correct = give(first, "correctness", score=0, feedback_source_type="model")
    unscored = give(second, "helpfulness", value="meh")

    def ids(**filters: Any) -> set[uuid.UUID]:
        return {f.id for f in client.list_feedback(**filters)}

    assert ids(run_ids=[first]) == {helpful, correct}
    assert ids(run_ids=[first, second], feedback_key=["helpfulness"]) == {helpful, unscored}
    # The SDK sends its enum as "FeedbackSourceType.API".
    assert ids(feedback_source_type=[FeedbackSourceType.API]) == {helpful, unscored}
    assert ids(feedback_source_type=[FeedbackSourceType.MODEL]) == {correct}
    assert ids(has_comment=True) == {helpful}
    assert ids(has_score=False) == {unscored}
    assert ids(min_created_at=before.isoformat(), run_ids=[first, second]) == {
        helpful,
        correct,
        unscored,
    }
    assert ids(max_created_at=before.isoformat()) == set()
    assert len(list(client.list_feedback(limit=2))) == 2
    listed = next(iter(client.list_feedback(run_ids=[second])))
    assert listed.run_id == second and listed.trace_id is None and listed.value == "meh"

    # More than one page (the SDK asks 100 at a time, by offset).
    many = {give(busy, f"k{i}", score=i) for i in range(105)}
    assert ids(run_ids=[busy]) == many


def test_feedback_before_its_run_is_pending_then_attaches(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    """Runs go in background batches, so feedback often comes first. It is
    accepted at once (the SDK need not retry), read back, and attaches when the
    run arrives."""
    client = make_client()
    run_id = uuid.uuid4()
    created = client.create_feedback(
        run_id, "thumbs", score=1, comment="early", session_id=keys.project_id, stop_after_attempt=1
    )
    read = client.read_feedback(created.id)
    assert (read.run_id, read.score, read.comment) == (run_id, 1, "early")
    assert [f.id for f in client.list_feedback(run_ids=[run_id])] == [created.id]
    pending = live.graphql(keys.read, PENDING, {"id": str(created.id)})["feedbackById"]
    assert pending == {"pending": True, "run": None}

    client.create_run("late", {"q": "hi"}, "llm", id=run_id)
    attached = live.graphql(keys.read, PENDING, {"id": str(created.id)})["feedbackById"]
    assert attached == {"pending": False, "run": {"id": str(run_id)}}


def test_feedback_config_on_create_declares_the_key_without_enforcing_it(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    """LangSmith: a config sent with feedback defines the key "if creating a
    feedback_key for the first time"; only an enforced config refuses scores."""
    admin = make_client()
    run_id = new_run(admin)
    admin.create_feedback(
        run_id,
        "stars",
        score=4,
        session_id=keys.project_id,
        feedback_config={"type": "continuous", "min": 1, "max": 5},
    )
    key = live.graphql(keys.read, KEY, {"key": "stars"})["feedbackKey"]
    assert (key["kind"], key["min"], key["max"], key["enforced"]) == ("CONTINUOUS", 1, 5, False)
    [config] = admin.list_feedback_configs(feedback_key=["stars"])
    assert config.is_enforced is False
    # Not enforced: a score outside the range is recorded, not refused.
    outside = admin.create_feedback(run_id, "stars", score=9, session_id=keys.project_id)
    assert admin.read_feedback(outside.id).score == 9
    # A later, different config neither fails nor replaces the first.
    admin.create_feedback(
        run_id,
        "stars",
        score=2,
        session_id=keys.project_id,
        feedback_config={"type": "continuous", "min": 0, "max": 100},
    )
    key = live.graphql(keys.read, KEY, {"key": "stars"})["feedbackKey"]
    assert (key["min"], key["max"]) == (1, 5)

    # An enforced config refuses what it does not allow.
    admin.create_feedback_config(
        "grade", feedback_config={"type": "continuous", "min": 0, "max": 1}, is_enforced=True
    )
    assert [c.is_enforced for c in admin.list_feedback_configs(feedback_key=["grade"])] == [True]
    with pytest.raises(LangSmithError, match="out of range"):
        admin.create_feedback(run_id, "grade", score=2, session_id=keys.project_id)

    # An ingest key records the feedback but does not declare keys.
    ingester = make_client(keys.ingest)
    ingester.create_feedback(
        run_id,
        "tone",
        score=1,
        session_id=keys.project_id,
        feedback_config={"type": "continuous", "min": 0, "max": 1},
    )
    assert live.graphql(keys.read, KEY, {"key": "tone"})["feedbackKey"] is None


def test_keys_of_another_project_or_role_cannot_touch_feedback(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys, other_keys: Keys
) -> None:
    client = make_client()
    run_id = new_run(client)
    feedback_id = client.create_feedback(run_id, "thumbs", score=1, session_id=keys.project_id).id

    stranger = make_client(other_keys.admin)
    with pytest.raises(LangSmithNotFoundError):
        stranger.create_feedback(
            run_id, "thumbs", score=0, session_id=other_keys.project_id, stop_after_attempt=1
        )
    with pytest.raises(LangSmithNotFoundError):
        stranger.read_feedback(feedback_id)
    with pytest.raises(LangSmithNotFoundError):
        stranger.update_feedback(feedback_id, score=0)
    with pytest.raises(LangSmithNotFoundError):
        stranger.delete_feedback(feedback_id)
    assert list(stranger.list_feedback(run_ids=[run_id])) == []
    stored = feedback_of(live, keys, feedback_id)
    assert stored["score"] == 1 and len(stored["history"]) == 1

    reader = make_client(keys.read)
    with pytest.raises(LangSmithError, match="cannot ingest"):
        reader.create_feedback(run_id, "thumbs", score=0, session_id=keys.project_id)
    assert reader.read_feedback(feedback_id).score == 1
    ingester = make_client(keys.ingest)
    with pytest.raises(LangSmithError, match="cannot read"):
        list(ingester.list_feedback(run_ids=[run_id]))
