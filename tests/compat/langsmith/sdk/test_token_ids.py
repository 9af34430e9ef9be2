"""Reading never grants writing: a LangSmith-style token's URL id is its credential
(``POST /feedback/tokens/{id}`` needs nothing else), so no read key may obtain it.

The id in the URL is not the token's record id: GraphQL's ``feedbackTokens``, the
feedback's ``sourceInfo.token_id`` and history (``token:<id>``) show the record id,
which no route accepts as a credential. The LangSmith listing, which must give the
SDK usable ids, takes the grant that creates tokens (ingest or admin)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langsmith import Client
from langsmith.utils import LangSmithError

from tests.compat.langsmith.sdk.conftest import LiveServer
from tests.compat.langsmith.sdk.test_tokens import feedback_on, new_run
from tests.conftest import Keys

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

READABLE = """query($r: ID!) {
  feedbackTokens(runId: $r) { nodes { id runId key } }
  run(id: $r) { feedback { id sourceInfo history { by via } } }
  feedback(filter: {runIds: [$r]}) { nodes { id sourceInfo history { by } } }
}"""


def everything_a_read_key_sees(live: LiveServer, keys: Keys, run_id: uuid.UUID) -> str:
    """GraphQL and the LangSmith REST reads of the run's tokens and feedback."""
    seen = [str(live.graphql(keys.read, READABLE, {"r": str(run_id)}))]
    headers = {"x-api-key": keys.read}
    for path, params in [
        ("/api/v1/feedback", {"run": str(run_id)}),
        ("/api/v1/feedback/tokens", {"run_id": str(run_id)}),
    ]:
        response = httpx.get(f"{live.url}{path}", params=params, headers=headers, timeout=30)
        seen.append(response.text)
    return "\n".join(seen)


def scores(live: LiveServer, keys: Keys, run_id: uuid.UUID) -> list[Any]:
    return [f["score"] for f in feedback_on(live, keys, run_id)]


def test_a_read_key_cannot_obtain_a_usable_token_id(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys
) -> None:
    admin = make_client()
    run_id = new_run(admin)
    token = admin.create_presigned_feedback_token(run_id, "thumbs")
    admin.create_feedback_from_token(token.url, 1)  # so feedback carries the token too

    seen = everything_a_read_key_sees(live, keys, run_id)
    ids = set(UUID.findall(seen)) - {str(run_id)}
    assert ids, seen  # the read key sees the token's record and the feedback
    assert str(token.id) not in seen
    for candidate in sorted(ids):
        refused = httpx.post(
            f"{live.url}/api/v1/feedback/tokens/{candidate}", json={"score": 0}, timeout=30
        )
        assert refused.status_code == 404, (candidate, refused.text)
    assert scores(live, keys, run_id) == [1]  # nothing changed the vote

    # The SDK's listing with a read key is refused, and says why.
    with pytest.raises(LangSmithError, match="ingest"):
        list(make_client(keys.read).list_presigned_feedback_tokens(run_id))


@pytest.mark.parametrize("role", ["ingest", "admin"])
def test_keys_that_create_tokens_list_usable_ones(
    make_client: Callable[..., Client], live: LiveServer, keys: Keys, role: str
) -> None:
    client = make_client(getattr(keys, role))
    run_id = new_run(make_client())
    created = client.create_presigned_feedback_token(run_id, "thumbs")
    [listed] = client.list_presigned_feedback_tokens(run_id)
    assert (listed.id, listed.url) == (created.id, created.url)
    make_client("not-a-plaudit-key").create_feedback_from_token(listed.id, 0)
    assert scores(live, keys, run_id) == [0]

    # The feedback names the token by its record id, which is not the credential.
    data = live.graphql(
        keys.read,
        "query($r: ID!) { run(id: $r) { feedback { sourceInfo history { by } } } }",
        {"r": str(run_id)},
    )
    [feedback] = data["run"]["feedback"]
    record_id = feedback["sourceInfo"]["token_id"]
    assert record_id != str(created.id)
    assert feedback["history"][0]["by"] == f"token:{record_id}"
    # ... the same record id that feedbackTokens shows and revokeFeedbackToken takes.
    live.graphql(
        keys.admin, "mutation($id: ID!) { revokeFeedbackToken(id: $id) { id } }", {"id": record_id}
    )
    with pytest.raises(LangSmithError):
        make_client("not-a-plaudit-key").create_feedback_from_token(created.url, 1)
