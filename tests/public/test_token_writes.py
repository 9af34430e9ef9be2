"""What a widget post costs on the tokens collection: a token with a use limit
takes its use with one conditional write (read from the cache, not again from
the database); a token without one is not written at all."""

from __future__ import annotations

import httpx
import pytest

from tests.commands import CommandRecorder
from tests.conftest import GraphQLClient
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
