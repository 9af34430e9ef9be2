"""Reviewer links over HTTP: a link reviews its own task and nothing else, as its
reviewer; it expires, can be revoked, and is read by GraphQL over HTTP only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app import clock
from app.domain.auth import GRANTS, REVIEWER_ROLE
from app.graphql.permissions import (
    CanIngest,
    CanRead,
    CanReadTask,
    CanReadTaskById,
    CanReviewTask,
    IsAdmin,
    IsAuthenticated,
)
from app.graphql.schema import schema
from tests.conftest import GraphQLClient, Keys
from tests.task_helpers import SUMMARY_SCHEMA, create_task, ingest

CREATE_LINK = """
mutation($task: ID!, $reviewer: String, $expiresIn: Int) {
  createReviewerLink(taskId: $task, reviewer: $reviewer, expiresIn: $expiresIn) {
    url token link { id taskId reviewer expiresAt revokedAt createdBy }
  }
}"""
REVOKE_LINK = "mutation($id: ID!) { revokeReviewerLink(id: $id) { id revokedAt } }"
CLAIM = """
mutation($task: ID!, $user: String, $skip: [ID!]) {
  claimReview(taskId: $task, userId: $user, skipRunIds: $skip) {
    reviewer run { id inputs feedback { key score } }
  }
}"""
SUBMIT = """
mutation($task: ID!, $run: ID!, $values: JSON!, $user: String) {
  submitTaskFeedback(taskId: $task, runId: $run, values: $values, userId: $user) {
    submission { reviewer userId values }
    metricFeedback { key userId }
  }
}"""
RELEASE = "mutation($task: ID!, $run: ID!) { releaseReview(taskId: $task, runId: $run) }"
VALUES = {"Coherence": 6, "Faithful": True}


class LinkClient(GraphQLClient):
    """A GraphQL client that sends a reviewer link instead of an API key."""

    def __init__(self, http: httpx.AsyncClient, token: str, scheme: str = "ReviewLink") -> None:
        super().__init__(http, None)
        self.token = token
        self.scheme = scheme

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"{self.scheme} {self.token}"},
        )
        body = response.json()
        return body.get("data"), body.get("errors")


async def make_link(gql: GraphQLClient, task_id: str, **extra: Any) -> dict[str, Any]:
    data = await gql.ok(CREATE_LINK, {"task": task_id, **extra})
    issued: dict[str, Any] = data["createReviewerLink"]
    return issued


@pytest.fixture
async def setup(gql: GraphQLClient) -> dict[str, Any]:
    """Two tasks with runs of their own, and a link for the first, named "ann"."""
    task = await create_task(gql, tags=["summary"])
    other = await create_task(gql, name="Chat grading", tags=["chat"])
    runs = await ingest(gql, *[{"tags": ["summary"], "inputs": {"q": i}} for i in range(3)])
    other_runs = await ingest(gql, {"tags": ["chat"]})
    issued = await make_link(gql, task["id"], reviewer="ann")
    return {
        "task": task,
        "other": other,
        "runs": runs,
        "other_runs": other_runs,
        "issued": issued,
        "link": LinkClient(gql.http, issued["token"]),
    }


async def test_link_url_carries_the_token_in_its_fragment(
    gql: GraphQLClient, setup: dict[str, Any], keys: Keys
) -> None:
    issued = setup["issued"]
    assert issued["url"] == f"http://testserver/dashboard/review#link={issued['token']}"
    assert "?" not in issued["url"]
    link = issued["link"]
    assert (link["taskId"], link["reviewer"], link["revokedAt"]) == (
        setup["task"]["id"],
        "ann",
        None,
    )
    assert link["createdBy"].startswith("key:")
    listed = await gql.ok(
        "query($t: ID!) { reviewerLinks(taskId: $t) { nodes { id reviewer } } }",
        {"t": setup["task"]["id"]},
    )
    assert listed["reviewerLinks"]["nodes"] == [{"id": link["id"], "reviewer": "ann"}]


async def test_link_claims_and_submits_on_its_task_as_its_reviewer(
    gql: GraphQLClient, setup: dict[str, Any]
) -> None:
    link: LinkClient = setup["link"]
    task_id = setup["task"]["id"]
    me = await link.ok(
        "{ currentReviewerLink { reviewer taskId task { name schema } } }",
    )
    assert me["currentReviewerLink"]["reviewer"] == "ann"
    assert me["currentReviewerLink"]["task"]["schema"] == SUMMARY_SCHEMA
    task = await link.ok("query($id: ID!) { feedbackTask(id: $id) { name } }", {"id": task_id})
    assert task["feedbackTask"]["name"] == "Summary grading"

    claimed = (await link.ok(CLAIM, {"task": task_id}))["claimReview"]
    assert claimed["reviewer"] == "ann"
    assert claimed["run"]["id"] == setup["runs"][0]
    assert claimed["run"]["inputs"] == {"q": 0}
    result = await link.ok(SUBMIT, {"task": task_id, "run": claimed["run"]["id"], "values": VALUES})
    submission = result["submitTaskFeedback"]["submission"]
    assert (submission["reviewer"], submission["userId"]) == ("ann", "ann")
    assert {f["userId"] for f in result["submitTaskFeedback"]["metricFeedback"]} == {"ann"}
    # Resubmitting a run it reviewed is allowed; so is releasing the next claim.
    await link.ok(SUBMIT, {"task": task_id, "run": claimed["run"]["id"], "values": VALUES})
    second = (await link.ok(CLAIM, {"task": task_id}))["claimReview"]["run"]["id"]
    assert second == setup["runs"][1]
    assert (await link.ok(RELEASE, {"task": task_id, "run": second}))["releaseReview"] is True
    progress = await link.ok(
        "query($t: ID!) { reviewProgress(taskId: $t) { reviewer remaining done } }",
        {"t": task_id},
    )
    assert progress["reviewProgress"] == {"reviewer": "ann", "remaining": 2, "done": 1}


async def test_a_link_without_a_name_reviews_as_the_link(
    gql: GraphQLClient, setup: dict[str, Any]
) -> None:
    issued = await make_link(gql, setup["task"]["id"])
    link = LinkClient(gql.http, issued["token"])
    reviewer = f"link:{issued['link']['id']}"
    assert issued["link"]["reviewer"] == reviewer
    claimed = (await link.ok(CLAIM, {"task": setup["task"]["id"]}))["claimReview"]
    assert claimed["reviewer"] == reviewer
    result = await link.ok(
        SUBMIT, {"task": setup["task"]["id"], "run": claimed["run"]["id"], "values": VALUES}
    )
    assert result["submitTaskFeedback"]["submission"]["reviewer"] == reviewer
    assert result["submitTaskFeedback"]["submission"]["userId"] is None


REFUSED_READS = [
    ("query($id: ID!) { run(id: $id) { id outputs } }", "run"),
    ("{ runs { nodes { id } } }", None),
    ("{ feedback { nodes { id } } }", None),
    ("{ feedbackTasks { nodes { id } } }", None),
    ("query($id: ID!) { feedbackTask(id: $id) { name } }", "other"),
    ("query($t: ID!) { taskSubmissions(taskId: $t) { nodes { id } } }", "task"),
    ("query($t: ID!) { reviewQueue(taskId: $t) { nodes { run { id } } } }", "task"),
    ("query($t: ID!) { reviewPair(taskId: $t) { key } }", "task"),
    ("query($t: ID!) { reviewerLinks(taskId: $t) { nodes { id } } }", "task"),
    ("query($t: ID!) { taskAgreement(taskId: $t) { runsCompared } }", "task"),
    ("query($t: ID!) { reviewProgress(taskId: $t) { done } }", "other"),
    ("{ project { name } }", None),
    ("{ apiKeys { id } }", None),
    ("{ feedbackKeys { key } }", None),
    ("{ preferences { nodes { id } } }", None),
    ("{ signals { nodes { id } } }", None),
    ('{ feedbackStats(filter: {keys: ["x"]}) { groups { count } } }', None),
    ('{ worstRuns(keys: ["x"]) { runId } }', None),
]
REFUSED_WRITES = [
    ("mutation($t: ID!) { claimReview(taskId: $t) { reviewer } }", "other"),
    ('mutation($t: ID!) { claimReview(taskId: $t, userId: "bob") { reviewer } }', "task"),
    (
        "mutation($t: ID!, $r: ID!) { submitTaskFeedback(taskId: $t, runId: $r, values: {}) "
        "{ reviewCount } }",
        "unclaimed",
    ),
    (
        "mutation($t: ID!, $r: ID!) { submitTaskFeedback(taskId: $t, runId: $r, values: {}) "
        "{ reviewCount } }",
        "other-run",
    ),
    ('mutation($r: ID!) { createFeedback(input: {runId: $r, key: "k", score: 1}) { id } }', "run"),
    (
        'mutation { ingestRuns(runs: [{id: "0b6c0a4e-7f39-4a7e-9a61-2d2f5a3b9c10"}]) { id } }',
        None,
    ),
    (
        'mutation($r: ID!) { logPreference(key: "k", preferredRunId: $r, '
        'otherRunId: "6b5a3c52-5b0e-4a25-9c4b-c6a9a8f0f2a1") { id } }',
        "run",
    ),
    ("mutation($t: ID!) { createReviewerLink(taskId: $t) { url } }", "task"),
    ("mutation($id: ID!) { revokeReviewerLink(id: $id) { id } }", "link"),
    ('mutation($id: ID!) { updateFeedbackTask(id: $id, instructions: "x") { id } }', "task"),
    (
        'mutation($r: ID!) { createFeedbackTokens(inputs: [{runId: $r, key: "k"}]) { token } }',
        "run",
    ),
    ("mutation { createApiKey(role: ADMIN) { secret } }", None),
]


def _variables(query: str, what: str | None, setup: dict[str, Any]) -> dict[str, Any]:
    task, other = setup["task"]["id"], setup["other"]["id"]
    run, other_run = setup["runs"][2], setup["other_runs"][0]
    return {
        None: {},
        "run": {"id": run, "r": run},
        "task": {"t": task, "id": task},
        "other": {"t": other, "id": other},
        "unclaimed": {"t": task, "r": run},
        "other-run": {"t": task, "r": other_run},
        "link": {"id": setup["issued"]["link"]["id"]},
    }[what]


@pytest.mark.parametrize(("query", "what"), REFUSED_READS + REFUSED_WRITES)
async def test_link_cannot_read_or_write_outside_its_task(
    gql: GraphQLClient, setup: dict[str, Any], query: str, what: str | None
) -> None:
    link: LinkClient = setup["link"]
    variables = _variables(query, what, setup)
    data, errors = await link.execute(query, variables)
    assert errors, data
    assert errors[0]["extensions"]["code"] == "FORBIDDEN", errors
    assert not data or all(v is None for v in data.values()), data
    # The same request is a valid one: an admin key is not refused it.
    _, errors = await gql.execute(query, variables)
    assert not errors or errors[0]["extensions"]["code"] != "FORBIDDEN", errors


def test_only_the_review_fields_admit_a_reviewer_link() -> None:
    """Every root field's permission is a plain grant (which a link never has) or
    one of the review permissions; the fields with a review permission are exactly
    the ones the review page needs."""
    assert GRANTS[REVIEWER_ROLE] == frozenset()
    plain = {CanRead, CanIngest, IsAdmin}
    admitting = {}
    for type_name in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(type_name)
        assert definition is not None
        for field in definition.fields:  # type: ignore[union-attr]
            classes = set(getattr(field, "permission_classes", None) or [])
            if not classes <= plain:
                admitting[f"{type_name}.{field.name}"] = classes
    assert admitting == {
        "Query.feedback_task": {CanReadTaskById},
        "Query.review_progress": {CanReadTask},
        "Query.current_reviewer_link": {IsAuthenticated},
        "Mutation.submit_task_feedback": {CanReviewTask},
        "Mutation.claim_review": {CanReviewTask},
        "Mutation.release_review": {CanReviewTask},
    }


async def test_a_link_is_no_key_anywhere_else(
    gql: GraphQLClient, setup: dict[str, Any], keys: Keys
) -> None:
    token = setup["issued"]["token"]
    http: httpx.AsyncClient = gql.http
    for header in (f"ReviewLink {token}", f"Bearer {token}"):
        export = await http.get("/export/feedback", headers={"Authorization": header})
        assert export.status_code == 401, export.text
        listed = await http.get(
            "/api/v1/feedback", headers={"Authorization": header, "X-API-Key": token}
        )
        assert listed.status_code == 401, listed.text
    # As a Bearer token on GraphQL it is an unknown API key.
    error = await LinkClient(http, token, scheme="Bearer").error("{ currentReviewerLink { id } }")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    # With an API key, there is no current link.
    assert (await gql.ok("{ currentReviewerLink { id } }"))["currentReviewerLink"] is None


async def test_link_expires(
    gql: GraphQLClient, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await make_link(gql, setup["task"]["id"], reviewer="cid", expiresIn=60)
    link = LinkClient(gql.http, issued["token"])
    assert (await link.ok("{ currentReviewerLink { reviewer } }"))["currentReviewerLink"] == {
        "reviewer": "cid"
    }
    later = clock.now() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    error = await link.error("{ currentReviewerLink { reviewer } }")
    assert error["extensions"]["code"] == "TOKEN_EXPIRED"
    error = await link.error(CLAIM, {"task": setup["task"]["id"]})
    assert error["extensions"]["code"] == "TOKEN_EXPIRED"


async def test_link_can_be_revoked(gql: GraphQLClient, setup: dict[str, Any]) -> None:
    link: LinkClient = setup["link"]
    task_id = setup["task"]["id"]
    claimed = (await link.ok(CLAIM, {"task": task_id}))["claimReview"]["run"]["id"]
    revoked = await gql.ok(REVOKE_LINK, {"id": setup["issued"]["link"]["id"]})
    assert revoked["revokeReviewerLink"]["revokedAt"] is not None
    for query, variables in (
        (CLAIM, {"task": task_id}),
        (SUBMIT, {"task": task_id, "run": claimed, "values": VALUES}),
        ("{ currentReviewerLink { id } }", {}),
    ):
        error = await link.error(query, variables)
        assert error["extensions"]["code"] == "TOKEN_REVOKED", error
    # Revoking again changes nothing; another link still works.
    again = await gql.ok(REVOKE_LINK, {"id": setup["issued"]["link"]["id"]})
    assert again["revokeReviewerLink"]["revokedAt"] == revoked["revokeReviewerLink"]["revokedAt"]


async def test_tampered_or_foreign_tokens_are_refused(
    gql: GraphQLClient, setup: dict[str, Any]
) -> None:
    token = setup["issued"]["token"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    error = await LinkClient(gql.http, tampered).error("{ currentReviewerLink { id } }")
    assert error["extensions"]["code"] == "INVALID_TOKEN"
    # A feedback token (another purpose, another salt) is not a reviewer link.
    issued = await gql.ok(
        'mutation($r: ID!) { createFeedbackTokens(inputs: [{runId: $r, key: "k"}]) { token } }',
        {"r": setup["runs"][0]},
    )
    feedback_token = issued["createFeedbackTokens"][0]["token"]
    error = await LinkClient(gql.http, feedback_token).error("{ currentReviewerLink { id } }")
    assert error["extensions"]["code"] == "INVALID_TOKEN"


async def test_only_admins_make_links_and_names_are_checked(
    gql: GraphQLClient, setup: dict[str, Any], keys: Keys
) -> None:
    task_id = setup["task"]["id"]
    error = await gql.as_key(keys.ingest).error(CREATE_LINK, {"task": task_id})
    assert error["extensions"]["code"] == "FORBIDDEN"
    for reviewer, expires in (("key:abc", None), ("  ", None), ("ann", 10), ("ann", 10**9)):
        error = await gql.error(
            CREATE_LINK, {"task": task_id, "reviewer": reviewer, "expiresIn": expires}
        )
        assert error["extensions"]["code"] == "BAD_REQUEST", (reviewer, expires, error)
    error = await gql.error(CREATE_LINK, {"task": "6b5a3c52-5b0e-4a25-9c4b-c6a9a8f0f2a1"})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_link_of_another_project_sees_nothing_here(
    gql: GraphQLClient, setup: dict[str, Any], other_keys: Keys
) -> None:
    """A link's project is its record's: a task id from another project is not its."""
    elsewhere = gql.as_key(other_keys.admin)
    task = await create_task(elsewhere, tags=["summary"])
    issued = await make_link(elsewhere, task["id"], reviewer="zed")
    link = LinkClient(gql.http, issued["token"])
    assert (await link.ok(CLAIM, {"task": task["id"]}))["claimReview"] is None
    error = await link.error(CLAIM, {"task": setup["task"]["id"]})
    assert error["extensions"]["code"] == "FORBIDDEN"
