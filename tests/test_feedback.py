from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import pytest

from tests.conftest import GraphQLClient, Keys
from tests.helpers import CREATE_FEEDBACK, give_feedback, make_run

HISTORY = """
query($id: ID!) {
  feedbackById(id: $id) { id score comment history { change by via old new } }
}"""


async def test_user_flipping_thumbs_updates_one_record(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    up = await give_feedback(gql, runId=run_id, key="thumbs", score=1, userId="alice")
    down = await give_feedback(gql, runId=run_id, key="thumbs", score=0, userId="alice")
    assert down["id"] == up["id"]
    assert down["score"] == 0
    other = await give_feedback(gql, runId=run_id, key="thumbs", score=1, userId="bob")
    assert other["id"] != up["id"]
    data = await gql.ok(
        "query($r: [ID!]) { feedback(filter: {runIds: $r}) { nodes { userId score } } }",
        {"r": [run_id]},
    )
    assert sorted((n["userId"], n["score"]) for n in data["feedback"]["nodes"]) == [
        ("alice", 0),
        ("bob", 1),
    ]
    history = (await gql.ok(HISTORY, {"id": up["id"]}))["feedbackById"]["history"]
    assert [h["change"] for h in history] == ["created", "updated"]
    assert history[1]["old"]["score"] == 1 and history[1]["new"]["score"] == 0
    assert history[0]["via"] == "graphql" and history[0]["by"].startswith("key:")


async def test_comment_later_keeps_the_score(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    await give_feedback(gql, runId=run_id, key="thumbs", score=1, userId="alice")
    later = await give_feedback(gql, runId=run_id, key="thumbs", comment="great", userId="alice")
    assert later["score"] == 1 and later["comment"] == "great"


async def test_retract(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    first = await give_feedback(gql, runId=run_id, key="thumbs", score=1, userId="alice")
    retracted = await give_feedback(
        gql, runId=run_id, key="thumbs", score=None, retract=True, userId="alice"
    )
    assert retracted["id"] == first["id"]
    assert retracted["retracted"] is True and retracted["score"] is None
    stats = await gql.ok(
        "query($id: ID!) { run(id: $id) { feedbackStats { key count } } }", {"id": run_id}
    )
    assert stats["run"]["feedbackStats"] == []
    # Voting again brings it back.
    again = await give_feedback(gql, runId=run_id, key="thumbs", score=0, userId="alice")
    assert again["id"] == first["id"] and again["retracted"] is False
    history = (await gql.ok(HISTORY, {"id": first["id"]}))["feedbackById"]["history"]
    assert [h["change"] for h in history] == ["created", "retracted", "updated"]


async def test_retract_nothing_is_not_found(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    error = await gql.error(
        CREATE_FEEDBACK,
        {"input": {"runId": run_id, "key": "thumbs", "retract": True, "userId": "nobody"}},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_retract_with_score_is_bad_request(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    await give_feedback(gql, runId=run_id, key="thumbs", score=1, userId="alice")
    error = await gql.error(
        CREATE_FEEDBACK,
        {
            "input": {
                "runId": run_id,
                "key": "thumbs",
                "retract": True,
                "score": 1,
                "userId": "alice",
            }
        },
    )
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_same_client_id_is_idempotent(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    client_id = str(uuid.uuid4())
    body = {"id": client_id, "runId": run_id, "key": "quality", "score": 0.5}
    results = await asyncio.gather(*(give_feedback(gql, **body) for _ in range(10)))
    assert {r["id"] for r in results} == {client_id}
    data = await gql.ok(
        "query($r: [ID!]) { feedback(filter: {runIds: $r}) { nodes { id } } }", {"r": [run_id]}
    )
    assert [n["id"] for n in data["feedback"]["nodes"]] == [client_id]
    history = (await gql.ok(HISTORY, {"id": client_id}))["feedbackById"]["history"]
    assert len(history) == 1


async def test_without_user_each_call_is_a_new_record(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    a = await give_feedback(gql, runId=run_id, key="quality", score=0.5)
    b = await give_feedback(gql, runId=run_id, key="quality", score=0.7)
    assert a["id"] != b["id"]


async def test_update_and_delete(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    client_id = str(uuid.uuid4())
    created = await give_feedback(
        gql, id=client_id, runId=run_id, key="quality", score=0.5, comment="ok"
    )
    updated = await gql.ok(
        "mutation($id: ID!) { updateFeedback(id: $id, input: {score: 0.9, "
        'correction: {text: "better"}}) { score comment correction } }',
        {"id": created["id"]},
    )
    assert updated["updateFeedback"] == {
        "score": 0.9,
        "comment": "ok",
        "correction": {"text": "better"},
    }
    deleted = await gql.ok("mutation($id: ID!) { deleteFeedback(id: $id) }", {"id": client_id})
    assert deleted["deleteFeedback"] == client_id
    assert (await gql.ok(HISTORY, {"id": client_id}))["feedbackById"] is None
    # A retry of the original create cannot bring it back.
    error = await gql.error(
        CREATE_FEEDBACK,
        {"input": {"id": client_id, "runId": run_id, "key": "quality", "score": 0.5}},
    )
    assert error["extensions"]["code"] == "CONFLICT"
    error = await gql.error("mutation($id: ID!) { deleteFeedback(id: $id) }", {"id": client_id})
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(
        "mutation($id: ID!) { updateFeedback(id: $id, input: {score: 1}) { id } }",
        {"id": client_id},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_run_not_here_yet_or_of_another_project(
    gql: GraphQLClient, other_keys: Keys
) -> None:
    """Feedback on a run no project has yet waits for it (tests/test_pending_feedback.py);
    on another project's run it is refused as if the run did not exist."""
    waiting = await give_feedback(gql, runId=str(uuid.uuid4()), key="q", score=1)
    assert waiting["score"] == 1
    theirs = await make_run(gql.as_key(other_keys.admin))
    error = await gql.error(CREATE_FEEDBACK, {"input": {"runId": theirs, "key": "q", "score": 1}})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "run" in error["message"]


async def test_limits_on_input(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    error = await gql.error(
        CREATE_FEEDBACK, {"input": {"runId": run_id, "key": "q", "comment": "x" * 10_001}}
    )
    assert "comment is too long" in error["message"]
    error = await gql.error(CREATE_FEEDBACK, {"input": {"runId": "nope", "key": "q"}})
    assert "runId must be a UUID" in error["message"]
    error = await gql.error(CREATE_FEEDBACK, {"input": {"runId": run_id, "key": ""}})
    assert "key must not be empty" in error["message"]


async def test_filters(gql: GraphQLClient) -> None:
    r1 = await make_run(gql)
    r2 = await make_run(gql)
    await give_feedback(gql, runId=r1, key="a", score=1, comment="nice", userId="u1")
    await give_feedback(gql, runId=r1, key="b", value="text", sourceType="MODEL")
    await give_feedback(gql, runId=r2, key="a", score=0, userId="u2", sourceType="HUMAN")
    query = "query($f: FeedbackFilter) { feedback(filter: $f) { nodes { runId key userId } } }"

    async def found(f: dict[str, object]) -> list[tuple[str, str]]:
        data = await gql.ok(query, {"f": f})
        return sorted(
            ((n["runId"] == r1 and "r1") or "r2", n["key"]) for n in data["feedback"]["nodes"]
        )

    assert await found({"runIds": [r1]}) == [("r1", "a"), ("r1", "b")]
    assert await found({"keys": ["a"]}) == [("r1", "a"), ("r2", "a")]
    assert await found({"sourceTypes": ["MODEL"]}) == [("r1", "b")]
    assert await found({"userIds": ["u2"]}) == [("r2", "a")]
    assert await found({"hasScore": False}) == [("r1", "b")]
    assert await found({"hasComment": True}) == [("r1", "a")]
    assert await found({"createdAfter": "2999-01-01T00:00:00Z"}) == []


async def test_run_feedback_stats(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    for user, score in (("a", 1), ("b", 0), ("c", 1), ("d", True)):
        await give_feedback(gql, runId=run_id, key="thumbs", score=score, userId=user)
    await give_feedback(gql, runId=run_id, key="note", value="free text")
    data = await gql.ok(
        "query($id: ID!) { run(id: $id) { feedbackStats { key count scored mean min max } } }",
        {"id": run_id},
    )
    assert data["run"]["feedbackStats"] == [
        {"key": "note", "count": 1, "scored": 0, "mean": None, "min": None, "max": None},
        {"key": "thumbs", "count": 4, "scored": 4, "mean": 0.75, "min": 0.0, "max": 1.0},
    ]


async def test_values_that_look_like_field_paths_are_stored_literally(gql: GraphQLClient) -> None:
    run_id = await make_run(gql)
    await give_feedback(gql, runId=run_id, key="k", score=1, comment="first", userId="u")
    changed = await give_feedback(
        gql,
        runId=run_id,
        key="k",
        comment="$score",
        value={"$gt": "$$ROOT"},
        correction="$$NOW",
        userId="u",
    )
    assert changed["comment"] == "$score"
    assert changed["value"] == {"$gt": "$$ROOT"}
    assert changed["correction"] == "$$NOW"
    stored = (await gql.ok(HISTORY, {"id": changed["id"]}))["feedbackById"]
    assert stored["comment"] == "$score"
    assert stored["history"][-1]["new"]["comment"] == "$score"
    assert stored["history"][-1]["old"]["comment"] == "first"


async def test_history_keeps_the_most_recent_changes(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.store.feedback.HISTORY_LIMIT", 3)
    run_id = await make_run(gql)
    for score in range(6):
        record = await give_feedback(gql, runId=run_id, key="k", score=score, userId="u")
    history = (await gql.ok(HISTORY, {"id": record["id"]}))["feedbackById"]["history"]
    assert [h["new"]["score"] for h in history] == [3, 4, 5]


async def test_concurrent_changes_to_one_record_chain_in_its_history(gql: GraphQLClient) -> None:
    """Each change is computed from the version it replaces (or recomputed when
    another one overtook it): the history is a chain, no change lost or doubled."""
    run_id = await make_run(gql)
    first = await give_feedback(gql, runId=run_id, key="stars", score=0, userId="u")
    scores = list(range(1, 13))
    await asyncio.gather(
        *(give_feedback(gql, runId=run_id, key="stars", score=s, userId="u") for s in scores)
    )
    stored = (await gql.ok(HISTORY, {"id": first["id"]}))["feedbackById"]
    history = stored["history"]
    assert [h["change"] for h in history] == ["created"] + ["updated"] * len(scores)
    for previous, entry in itertools.pairwise(history):
        assert entry["old"]["score"] == previous["new"]["score"]
    assert sorted(h["new"]["score"] for h in history[1:]) == scores
    assert stored["score"] == history[-1]["new"]["score"]


async def test_a_record_stored_before_revisions_existed_can_change(
    gql: GraphQLClient, sync_db: Any
) -> None:
    run_id = await make_run(gql)
    record = await give_feedback(gql, runId=run_id, key="k", score=1, userId="u")
    sync_db["feedback"].update_one({"_id": record["id"]}, {"$unset": {"rev": ""}})
    changed = await give_feedback(gql, runId=run_id, key="k", score=0, userId="u")
    assert changed["id"] == record["id"] and changed["score"] == 0
    assert sync_db["feedback"].find_one({"_id": record["id"]})["rev"] == 1
