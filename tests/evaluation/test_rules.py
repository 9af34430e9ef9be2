"""Saving rules: what is refused and why (each with a stable code), who may, and the
run filter's conditions."""

from __future__ import annotations

import types
import uuid
from typing import Any

import pytest

from app.domain.evaluation.definition import RunFilterSpec
from tests.conftest import GraphQLClient, Keys
from tests.evaluation.api import BACKFILL, CREATE, PAUSE, UPDATE, check_rule, create_rule

JSON_CHECK = {"type": "VALID_JSON"}


def rule(**fields: Any) -> dict[str, Any]:
    return {**check_rule("r", "k", JSON_CHECK), **fields}


@pytest.mark.parametrize(
    ("given", "code", "message"),
    [
        (rule(samplingRate=1.5), "BAD_REQUEST", "samplingRate must be between 0 and 1"),
        (rule(name=" padded"), "BAD_REQUEST", "must not be empty or start or end with spaces"),
        (rule(key=None), "BAD_REQUEST", "needs the key its scores are written to"),
        (
            rule(scorer={"kind": "CHECK", "check": {"type": "REGEX_MATCH", "pattern": "(x"}}),
            "BAD_REQUEST",
            "not a regular expression",
        ),
        (rule(scorer={"kind": "CHECK"}), "BAD_REQUEST", "needs scorer.check"),
        (
            rule(scorer={"kind": "LLM", "taskId": str(uuid.uuid4())}, key=None),
            "BAD_REQUEST",
            "needs an LLM",
        ),
        (
            rule(scorer={"kind": "NEAREST_NEIGHBOUR", "taskId": str(uuid.uuid4())}, key=None),
            "NOT_FOUND",
            "not found",
        ),
        (
            rule(scorer={"kind": "NEAREST_NEIGHBOUR"}, key="unregistered"),
            "NOT_FOUND",
            "is not registered",
        ),
        (rule(limits={"dailyCalls": 0}), "BAD_REQUEST", "limits.dailyCalls must be at least 1"),
        (rule(limits={"maxAttempts": 50}), "BAD_REQUEST", "maxAttempts must be between 1 and 20"),
        (
            rule(alerts=[{"metric": "AGREEMENT", "direction": "BELOW", "threshold": 2}]),
            "BAD_REQUEST",
            "agreement threshold is a share",
        ),
        (
            rule(filter={"metadata": [{"field": "a..b", "value": 1}]}),
            "BAD_REQUEST",
            "not a dotted path",
        ),
    ],
)
async def test_a_rule_that_cannot_work_is_refused(
    gql: GraphQLClient, given: dict[str, Any], code: str, message: str
) -> None:
    error = await gql.error(CREATE, {"input": given})
    assert error["extensions"]["code"] == code, error
    assert message in error["message"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://[::1]/x",
        "http://10.0.0.7/",
        "http://169.254.169.254/latest",
        "http://2130706433/",
    ],
)
async def test_the_http_evaluator_may_not_post_to_private_addresses(
    gql: GraphQLClient, url: str
) -> None:
    given = rule(scorer={"kind": "HTTP", "url": url})
    error = await gql.error(CREATE, {"input": given})
    assert error["extensions"]["code"] == "WEBHOOK_DESTINATION_NOT_ALLOWED", error


async def test_keys_and_names(gql: GraphQLClient) -> None:
    await gql.ok(
        'mutation { registerFeedbackKey(input: {key: "stars", kind: CONTINUOUS, min: 1, max: 5}) '
        "{ key } }"
    )
    error = await gql.error(CREATE, {"input": rule(key="stars")})
    assert "use a boolean key" in error["message"]
    first = await create_rule(gql, rule(name="json"))
    error = await gql.error(CREATE, {"input": rule(name="json")})
    assert error["extensions"]["code"] == "CONFLICT"
    other = await create_rule(gql, rule(name="json 2"))
    error = await gql.error(UPDATE, {"id": other["rule"]["id"], "input": rule(name="json")})
    assert error["extensions"]["code"] == "CONFLICT"
    error = await gql.error(UPDATE, {"id": str(uuid.uuid4()), "input": rule()})
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(PAUSE, {"id": "not-a-uuid"})
    assert error["extensions"]["code"] == "BAD_REQUEST"
    error = await gql.error(
        BACKFILL,
        {
            "id": first["rule"]["id"],
            "after": "2025-02-01T00:00:00Z",
            "before": "2025-01-01T00:00:00Z",
        },
    )
    assert "the window is empty" in error["message"]


async def test_only_admins_change_rules_and_readers_see_them(
    gql: GraphQLClient, keys: Keys, other_keys: Keys
) -> None:
    saved = await create_rule(gql, rule(name="json"))
    error = await gql.as_key(keys.ingest).error(CREATE, {"input": rule(name="mine")})
    assert error["extensions"]["code"] == "FORBIDDEN"
    listed = await gql.as_key(keys.read).ok("{ evaluationRules { id name counts { sampled } } }")
    assert listed["evaluationRules"] == [
        {"id": saved["rule"]["id"], "name": "json", "counts": {"sampled": 0}}
    ]
    # Another project sees none of them, and cannot change them.
    elsewhere = gql.as_key(other_keys.admin)
    assert (await elsewhere.ok("{ evaluationRules { id } }"))["evaluationRules"] == []
    error = await elsewhere.error(PAUSE, {"id": saved["rule"]["id"]})
    assert error["extensions"]["code"] == "NOT_FOUND"


def run_like(**fields: Any) -> Any:
    values = {
        "tags": ["a", "b"],
        "name": "chat",
        "model": "gpt",
        "metadata": {"user": {"plan": "pro"}, "ls_run_type": "llm"},
        "parent_run_id": None,
    }
    return types.SimpleNamespace(**{**values, **fields})


def test_the_run_filter() -> None:
    assert RunFilterSpec().matches(run_like())
    assert RunFilterSpec(tags=["a"]).matches(run_like())
    assert not RunFilterSpec(tags=["a", "c"]).matches(run_like())
    assert not RunFilterSpec(name="other").matches(run_like())
    assert not RunFilterSpec(model="other").matches(run_like())
    assert RunFilterSpec(metadata=[("user.plan", "pro")]).matches(run_like())
    assert not RunFilterSpec(metadata=[("user.plan", "free")]).matches(run_like())
    assert not RunFilterSpec(metadata=[("user.seats", None)]).matches(run_like())
    assert RunFilterSpec(run_type="llm").matches(run_like())
    assert not RunFilterSpec(run_type="chain").matches(run_like())
    # A run_type field on the run (where ingestion sets one) wins over the metadata.
    assert RunFilterSpec(run_type="tool").matches(run_like(run_type="tool"))
    assert RunFilterSpec(root_only=True).matches(run_like())
    assert not RunFilterSpec(root_only=True).matches(run_like(parent_run_id="p"))
    # A tracing project: only runs that carry it (runs without the field match none).
    assert not RunFilterSpec(tracing_project_id="tp").matches(run_like())
    assert RunFilterSpec(tracing_project_id="tp").matches(run_like(tracing_project_id="tp"))
    assert not RunFilterSpec(tracing_project_id="tp").matches(run_like(tracing_project_id="x"))
