"""recordSignal and signals, through GraphQL and through the domain function that
public (token) routes call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from starlette.applications import Starlette

from app.domain.feedback import Change
from app.domain.signals import record_signal
from app.errors import BadRequest, NotFound
from app.public.implicit_signals import handle_public_signal
from tests.conftest import GraphQLClient, Keys, services
from tests.task_helpers import ingest

RECORD = """
mutation($run: ID!, $kind: SignalKind!, $edited: JSON, $user: String) {
  recordSignal(runId: $run, kind: $kind, editedOutput: $edited, userId: $user) {
    id runId kind draftOutput editedOutput userId run { id }
  }
}"""

LIST = """
query($filter: SignalFilter) {
  signals(filter: $filter) { nodes { id kind runId userId editedOutput } }
}"""


async def test_record_and_list_signals(gql: GraphQLClient, keys: Keys) -> None:
    run, other = await ingest(gql, {"outputs": "Draft answer."}, {"outputs": "x"})
    ingest_gql = gql.as_key(keys.ingest)
    edit = await ingest_gql.ok(
        RECORD, {"run": run, "kind": "EDIT", "edited": "Final answer.", "user": "ann"}
    )
    signal = edit["recordSignal"]
    assert signal["kind"] == "EDIT"
    assert signal["draftOutput"] == "Draft answer."
    assert signal["editedOutput"] == "Final answer."
    assert signal["userId"] == "ann"
    assert signal["run"] == {"id": run}
    regen = await ingest_gql.ok(RECORD, {"run": run, "kind": "REGENERATE"})
    assert regen["recordSignal"]["draftOutput"] is None
    copy = await ingest_gql.ok(RECORD, {"run": other, "kind": "COPY", "user": "bob"})

    def kinds(data: dict) -> list[str]:  # type: ignore[type-arg]
        return [n["kind"] for n in data["signals"]["nodes"]]

    assert kinds(await gql.ok(LIST)) == ["COPY", "REGENERATE", "EDIT"]
    assert kinds(await gql.ok(LIST, {"filter": {"runIds": [run]}})) == ["REGENERATE", "EDIT"]
    assert kinds(await gql.ok(LIST, {"filter": {"kinds": ["EDIT", "COPY"]}})) == ["COPY", "EDIT"]
    by_user = await gql.ok(LIST, {"filter": {"userIds": ["bob"]}})
    assert [n["id"] for n in by_user["signals"]["nodes"]] == [copy["recordSignal"]["id"]]


async def test_bad_signals(gql: GraphQLClient) -> None:
    (run,) = await ingest(gql, {"outputs": "x"})
    error = await gql.error(RECORD, {"run": run, "kind": "EDIT"})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "editedOutput" in error["message"]
    error = await gql.error(RECORD, {"run": run, "kind": "COPY", "edited": "y"})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    error = await gql.error(RECORD, {"run": str(uuid.uuid4()), "kind": "COPY"})
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(RECORD, {"run": run, "kind": "SHOUT"})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert (await gql.ok(LIST))["signals"]["nodes"] == []


async def test_domain_function_for_public_routes(
    app: Starlette, gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    (run,) = await ingest(gql, {"outputs": "Draft"})
    stores = services(app).stores
    change = Change(by="token:abc", via="widget")
    signal = await record_signal(
        stores, keys.project_id, run, "edit", edited_output="Better", user_id="u1", change=change
    )
    assert (signal.kind, signal.draft_output, signal.edited_output) == ("edit", "Draft", "Better")
    assert (signal.by, signal.via) == ("token:abc", "widget")
    with pytest.raises(NotFound):
        await record_signal(stores, other_keys.project_id, run, "copy", change=change)
    with pytest.raises(BadRequest):
        await record_signal(stores, keys.project_id, run, "EDIT", change=change)
    data = await gql.ok(LIST)
    assert [n["editedOutput"] for n in data["signals"]["nodes"]] == ["Better"]


@dataclass(frozen=True)
class Token:
    """The fields of a presigned token's record the public handler reads."""

    id: str
    project_id: str
    run_id: str
    end_user_id: str | None


async def test_public_route_handler(app: Starlette, gql: GraphQLClient, keys: Keys) -> None:
    (run,) = await ingest(gql, {"outputs": "Draft"})
    handler = handle_public_signal
    token = Token(id="tok-1", project_id=keys.project_id, run_id=run, end_user_id="end-user")
    result = await handler(services(app), token, {"kind": "EDIT", "editedOutput": "Final"})
    assert result["kind"] == "edit" and result["runId"] == run
    data = await gql.ok(LIST)
    (node,) = data["signals"]["nodes"]
    assert node == {
        "id": result["id"],
        "kind": "EDIT",
        "runId": run,
        "userId": "end-user",
        "editedOutput": "Final",
    }
    for body, message in (
        ({"kind": "copy", "runId": run}, "unknown field 'runId'"),
        ({}, "kind is required"),
        ({"kind": "wink"}, "unknown signal kind"),
    ):
        with pytest.raises(BadRequest, match=message):
            await handler(services(app), token, body)
    # A token of another project cannot reach this run.
    stranger = Token(id="tok-2", project_id="other", run_id=run, end_user_id=None)
    with pytest.raises(NotFound):
        await handler(services(app), stranger, {"kind": "copy"})
