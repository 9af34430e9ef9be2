"""logPreference and preferences through the GraphQL API."""

from __future__ import annotations

import uuid

from tests.conftest import GraphQLClient, Keys
from tests.task_helpers import ingest

LOG = """
mutation($key: String!, $a: ID!, $b: ID!, $tied: Tie, $user: String, $comment: String) {
  logPreference(key: $key, preferredRunId: $a, otherRunId: $b, tied: $tied, userId: $user,
                comment: $comment) {
    id key preferredRunId otherRunId tied userId comment
    preferredRun { id outputs } otherRun { id }
  }
}"""

LIST = """
query($filter: PreferenceFilter, $first: Int, $after: String) {
  preferences(filter: $filter, first: $first, after: $after) {
    nodes { id key preferredRunId otherRunId tied userId }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_log_and_list_preferences(gql: GraphQLClient, keys: Keys) -> None:
    a, b, c = await ingest(gql, {"outputs": {"text": "A"}}, {}, {})
    ingest_gql = gql.as_key(keys.ingest)
    data = await ingest_gql.ok(
        LOG, {"key": "helpful", "a": a, "b": b, "user": "ann", "comment": "A is clearer"}
    )
    pref = data["logPreference"]
    assert pref["key"] == "helpful"
    assert (pref["preferredRunId"], pref["otherRunId"]) == (a, b)
    assert pref["tied"] is None
    assert pref["userId"] == "ann" and pref["comment"] == "A is clearer"
    assert pref["preferredRun"] == {"id": a, "outputs": {"text": "A"}}
    assert pref["otherRun"] == {"id": b}

    tie = await ingest_gql.ok(LOG, {"key": "helpful", "a": b, "b": c, "tied": "BAD", "user": "bob"})
    assert tie["logPreference"]["tied"] == "BAD"
    other_key = await ingest_gql.ok(LOG, {"key": "tone", "a": c, "b": a, "tied": "GOOD"})
    assert other_key["logPreference"]["tied"] == "GOOD"

    def ids(data: dict) -> list[str]:  # type: ignore[type-arg]
        return [n["id"] for n in data["preferences"]["nodes"]]

    everything = await gql.ok(LIST)
    assert ids(everything) == [
        other_key["logPreference"]["id"],
        tie["logPreference"]["id"],
        pref["id"],
    ]
    assert ids(await gql.ok(LIST, {"filter": {"keys": ["helpful"]}})) == [
        tie["logPreference"]["id"],
        pref["id"],
    ]
    assert ids(await gql.ok(LIST, {"filter": {"runId": a}})) == [
        other_key["logPreference"]["id"],
        pref["id"],
    ]
    assert ids(await gql.ok(LIST, {"filter": {"tied": False}})) == [pref["id"]]
    assert ids(await gql.ok(LIST, {"filter": {"userIds": ["bob"]}})) == [tie["logPreference"]["id"]]
    page = await gql.ok(LIST, {"first": 2})
    assert page["preferences"]["pageInfo"]["hasNextPage"] is True
    rest = await gql.ok(LIST, {"first": 2, "after": page["preferences"]["pageInfo"]["endCursor"]})
    assert ids(rest) == [pref["id"]]


async def test_bad_preferences(gql: GraphQLClient) -> None:
    (a,) = await ingest(gql, {})
    missing = str(uuid.uuid4())
    error = await gql.error(LOG, {"key": "k", "a": a, "b": a})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "itself" in error["message"]
    error = await gql.error(LOG, {"key": "k", "a": a, "b": missing})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert missing in error["message"]
    error = await gql.error(LOG, {"key": "k", "a": "nope", "b": a})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    error = await gql.error(LOG, {"key": "", "a": a, "b": missing})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    error = await gql.error(LOG, {"key": "k", "a": a, "b": missing, "tied": "MAYBE"})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert (await gql.ok(LIST))["preferences"]["nodes"] == []


async def test_read_key_cannot_log(gql: GraphQLClient, keys: Keys) -> None:
    a, b = await ingest(gql, {}, {})
    error = await gql.as_key(keys.read).error(LOG, {"key": "k", "a": a, "b": b})
    assert error["extensions"]["code"] == "FORBIDDEN"
