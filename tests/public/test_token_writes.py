"""What a widget post writes. A token with a use limit takes its use with one
conditional write (read from the cache, not again from the database); a token
without one is not written at all, and its rate limit is counted by the feedback
write itself, so a post is one write plus, now and then, an address counter."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx
import pytest

from tests.commands import CommandRecorder
from tests.conftest import GraphQLClient
from tests.helpers import make_run as make_run_with_id
from tests.public.helpers import issue, make_run

pytestmark = pytest.mark.record_commands


def token_commands(recorder: CommandRecorder) -> list[str]:
    return [
        name
        for name, command in recorder.commands
        if command.get(name) == "feedback_tokens" or command.get("collection") == "feedback_tokens"
    ]


async def test_token_use_is_one_write_and_no_read(
    http: httpx.AsyncClient, gql: GraphQLClient, recorder: CommandRecorder
) -> None:
    run_id = await make_run(gql)
    limited = (await issue(gql, run_id, maxUses=3))["token"]
    unlimited = (await issue(gql, run_id, key="other"))["token"]
    for token in (limited, unlimited):  # the first post of each fills the cache
        assert (await http.post("/public/feedback", json={"token": token, "score": 1})).is_success
    recorder.clear()
    assert (await http.post("/public/feedback", json={"token": limited, "score": 0})).is_success
    assert token_commands(recorder) == ["update"]
    recorder.clear()
    assert (await http.post("/public/feedback", json={"token": unlimited, "score": 0})).is_success
    assert token_commands(recorder) == []
    # The limit still holds: the third use is the last.
    assert (await http.post("/public/feedback", json={"token": limited, "score": 1})).is_success
    refused = await http.post("/public/feedback", json={"token": limited, "score": 0})
    assert refused.status_code == 409 and refused.json()["error"] == "token_used_up", refused.text


async def test_a_widget_post_is_one_write(
    http: httpx.AsyncClient, gql: GraphQLClient, recorder: CommandRecorder
) -> None:
    run_id = await make_run(gql)
    tokens = [(await issue(gql, run_id, key=f"k{i}"))["token"] for i in range(10)]
    recorder.clear()
    for token in tokens:  # ten first votes from one address
        assert (await http.post("/public/feedback", json={"token": token, "score": 1})).is_success
    for token in tokens[:3]:  # and three changed votes
        assert (await http.post("/public/feedback", json={"token": token, "score": 0})).is_success
    writes = [
        (name, str(command[name]))
        for name, command in recorder.commands
        if name in ("insert", "update", "delete", "findAndModify")
    ]
    feedback = [name for name, collection in writes if collection == "feedback"]
    assert feedback == ["insert"] * 10 + ["update"] * 3
    # A token this process has not seen is a first vote: the insert is tried
    # without reading first. The changed votes read the record they change.
    assert len(recorder.on("feedback", "find")) == 3
    counters = [u["q"]["_id"] for c in recorder.on("rate_limits", "update") for u in c["updates"]]
    # The address's counter in blocks of 1, 2, 4, 7 (the default 120/minute's
    # largest): four writes for thirteen posts (in each window, should a minute
    # turn during the test); no per-token counter at all.
    assert all(c.startswith("public/ip/") for c in counters), counters
    per_window = Counter(counters)
    assert len(per_window) <= 2 and max(per_window.values()) <= 4, per_window
    # Nothing else, but the rollups, run tallies and grouped rollups, written in
    # batches on a timer (a slow machine's posts span a flush).
    batched = {"feedback_rollups", "run_tallies", "feedback_group_buckets"}
    assert {collection for _, collection in writes} - batched == {
        "feedback",
        "rate_limits",
    }


async def test_a_vote_on_a_run_not_here_yet_is_one_write_too(
    http: httpx.AsyncClient, gql: GraphQLClient, recorder: CommandRecorder
) -> None:
    run_id = str(uuid.uuid4())
    token = (await issue(gql, run_id))["token"]
    recorder.clear()
    assert (await http.post("/public/feedback", json={"token": token, "score": 1})).is_success
    feedback_writes = [
        name
        for name, command in recorder.commands
        if name in ("insert", "update", "delete", "findAndModify") and command[name] == "feedback"
    ]
    assert feedback_writes == ["insert"]
    # The run is looked for before the write and once after it (had it arrived in
    # between, its arrival could have missed the new record).
    assert len(recorder.on("runs", "find")) == 2

    await make_run_with_id(gql, id=run_id)
    recorder.clear()
    assert (await http.post("/public/feedback", json={"token": token, "score": 0})).is_success
    # Once the run is here, whose it is comes from the cache: no read of runs.
    assert recorder.on("runs", "find") == []
