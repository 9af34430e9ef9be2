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


WIN_RATES = """query($ids: [ID!]!) { experimentWinRates(experimentIds: $ids) {
  key experimentId otherExperimentId wins losses ties n winRate low high
} }"""
PROJECTS = """query { tracingProjects(first: 10) { nodes { id name } } }"""


async def test_peoples_preferences_count_in_win_rates(gql: GraphQLClient, keys: Keys) -> None:
    """logPreference records each run's tracing project; a win rate between two
    tracing projects counts people's preferences between their runs."""
    a1, a2, a3 = await ingest(gql, *({"tracingProjectName": "model-a"},) * 3)
    b1, b2, b3 = await ingest(gql, *({"tracingProjectName": "model-b"},) * 3)
    (other,) = await ingest(gql, {"tracingProjectName": "model-c"})
    ingest_gql = gql.as_key(keys.ingest)
    for better, worse, tied in ((a1, b1, None), (a2, b2, None), (b3, a3, None), (a1, b2, "GOOD")):
        await ingest_gql.ok(LOG, {"key": "helpful", "a": better, "b": worse, "tied": tied})
    # Not between the two: left out.
    await ingest_gql.ok(LOG, {"key": "helpful", "a": a1, "b": other})
    await ingest_gql.ok(LOG, {"key": "helpful", "a": a1, "b": a2})

    projects = (await gql.ok(PROJECTS))["tracingProjects"]["nodes"]
    ids = {p["name"]: p["id"] for p in projects}
    listed = await gql.ok(LIST, {"filter": {"runId": b3}})
    assert len(listed["preferences"]["nodes"]) == 1
    [rate] = (await gql.ok(WIN_RATES, {"ids": [ids["model-a"], ids["model-b"]]}))[
        "experimentWinRates"
    ]
    assert (rate["wins"], rate["losses"], rate["ties"], rate["n"]) == (2, 1, 1, 4)
    # (2 + 1/2) / 4; Wilson 95% for 2.5 of 4: 0.2194 to 0.9081.
    assert rate["winRate"] == 0.625
    assert abs(rate["low"] - 0.2194) < 1e-4 and abs(rate["high"] - 0.9081) < 1e-4

    _, errors = await gql.execute(WIN_RATES, {"ids": [ids["model-a"]]})
    assert errors and errors[0]["extensions"]["code"] == "BAD_REQUEST"
