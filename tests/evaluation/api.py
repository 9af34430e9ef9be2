"""GraphQL steps the online evaluation tests share."""

from __future__ import annotations

import uuid
from typing import Any

from tests.autofeedback.waiting import eventually
from tests.conftest import GraphQLClient

RULE_FIELDS = """
  id name version status key samplingRate description
  filter { tags name model metadata { field value } runType rootOnly tracingProjectId }
  scorer { kind taskId field examples url timeoutSeconds secretPrefix
           check { type pattern words minLength maxLength target path } }
  limits { concurrency callsPerMinute dailyCalls dailyTokens maxAttempts }
  alerts { metric direction threshold windowHours minCount firing value }
  counts { sampled evaluated skippedBudget skippedOther failed pending }
"""

CREATE = (
    """
mutation($input: EvaluationRuleInput!) {
  createEvaluationRule(input: $input) { secret rule { """
    + RULE_FIELDS
    + """ } }
}"""
)

UPDATE = (
    """
mutation($id: ID!, $input: EvaluationRuleInput!) {
  updateEvaluationRule(id: $id, input: $input) { secret rule { """
    + RULE_FIELDS
    + """ } }
}"""
)

RULE = (
    """
query($id: ID!) { evaluationRule(id: $id) { """
    + RULE_FIELDS
    + """ failures { runId error attempts version } } }"""
)

PAUSE = "mutation($id: ID!) { pauseEvaluationRule(id: $id) { id status } }"
RESUME = "mutation($id: ID!) { resumeEvaluationRule(id: $id) { id status } }"
DELETE = "mutation($id: ID!) { deleteEvaluationRule(id: $id) }"
BACKFILL = """
mutation($id: ID!, $after: DateTime!, $before: DateTime) {
  backfillEvaluationRule(id: $id, after: $after, before: $before) {
    scanned sampled queued complete resumeBefore
  }
}"""
INGEST = "mutation($runs: [RunInput!]!) { ingestRuns(runs: $runs) { id } }"
RULE_FEEDBACK = """
query($r: ID!) {
  feedback(filter: {runIds: [$r], sourceTypes: [MODEL, API]}) {
    nodes { key score value comment sourceType userId sourceInfo }
  }
}"""


def check_rule(
    name: str, key: str, check: dict[str, Any], rate: float = 1.0, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "key": key,
        "samplingRate": rate,
        "scorer": {"kind": "CHECK", "check": check},
        **extra,
    }


async def create_rule(gql: GraphQLClient, rule: dict[str, Any]) -> dict[str, Any]:
    data = await gql.ok(CREATE, {"input": rule})
    saved: dict[str, Any] = data["createEvaluationRule"]
    return saved


async def get_rule(gql: GraphQLClient, rule_id: str) -> dict[str, Any]:
    data = await gql.ok(RULE, {"id": rule_id})
    rule: dict[str, Any] = data["evaluationRule"]
    return rule


async def counts(gql: GraphQLClient, rule_id: str) -> dict[str, int]:
    return dict((await get_rule(gql, rule_id))["counts"])


async def settled(gql: GraphQLClient, rule_id: str, expected: int) -> dict[str, int]:
    """The rule's counts once ``expected`` evaluations are no longer pending."""
    latest: dict[str, int] = {}

    async def check() -> bool:
        latest.update(await counts(gql, rule_id))
        return latest["sampled"] >= expected and latest["pending"] == 0

    await eventually(check, f"{expected} evaluations of rule {rule_id} to settle")
    return latest


def run(**fields: Any) -> dict[str, Any]:
    """A complete run (it has outputs), with a fresh id."""
    return {"id": str(uuid.uuid4()), "outputs": {"answer": "ok"}, **fields}


async def ingest(gql: GraphQLClient, runs: list[dict[str, Any]]) -> list[str]:
    for start in range(0, len(runs), 500):
        await gql.ok(INGEST, {"runs": runs[start : start + 500]})
    return [r["id"] for r in runs]


async def rule_feedback(gql: GraphQLClient, run_id: str) -> list[dict[str, Any]]:
    data = await gql.ok(RULE_FEEDBACK, {"r": run_id})
    nodes: list[dict[str, Any]] = data["feedback"]["nodes"]
    return nodes
