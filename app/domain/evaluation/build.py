"""A rule's scorer, built from its definition: the target and example pool of the
predictors (people's labels, the newest ``POOL_SIZE``), the compiled check, or
the HTTP evaluator. The worker builds one per rule version and reuses it for a
few minutes (so new labels from people become examples)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from app.domain.autofeedback.jobs import POOL_SIZE
from app.domain.autofeedback.llm import LLMClient
from app.domain.autofeedback.predictors import NearestNeighbour
from app.domain.autofeedback.selection import ExamplePool
from app.domain.autofeedback.targets import load_target
from app.domain.evaluation.checks import Check
from app.domain.evaluation.http_scorer import HttpEvaluator
from app.domain.evaluation.queue import ActiveRule
from app.domain.evaluation.scorers import (
    CheckScorer,
    HttpScorer,
    Scorer,
    ScoringFailed,
    llm_scorer,
    nearest_neighbour_scorer,
)
from app.store import Stores


def rule_summary(rule: ActiveRule) -> dict[str, object]:
    """How a rule names itself to an HTTP evaluator."""
    return {
        "id": rule.id,
        "name": rule.record.name,
        "version": rule.record.version,
        "key": rule.definition.key,
    }


async def build_scorer(
    stores: Stores,
    rule: ActiveRule,
    *,
    llm: Callable[[], LLMClient],
    llm_model: str | None,
    http: httpx.AsyncClient,
    allow_private_networks: bool,
) -> Scorer:
    spec = rule.definition.scorer
    key = rule.definition.key
    assert key is not None
    if spec.kind == "check":
        assert spec.check is not None
        return CheckScorer(Check(spec.check), key)
    if spec.kind == "http":
        assert spec.url is not None and spec.secret is not None
        evaluator = HttpEvaluator(
            http,
            spec.url,
            spec.secret,
            spec.timeout_seconds,
            allow_private_networks=allow_private_networks,
        )
        return HttpScorer(evaluator, key, rule_summary(rule))
    project_id = rule.record.project_id
    if spec.task_id is not None:
        target = await load_target(stores, project_id, task_id=spec.task_id, key=None)
        field_name = spec.field
        assert field_name is not None
    else:
        target = await load_target(stores, project_id, task_id=None, key=key)
        field_name = "score"
    examples = await target.examples(stores, POOL_SIZE)
    if spec.kind == "nearest_neighbour":
        if not examples:
            raise ScoringFailed("no labels from people to learn from yet")
        return nearest_neighbour_scorer(target, field_name, NearestNeighbour(examples))
    if llm_model is None:
        raise ScoringFailed(
            "no LLM is configured in this process: set PLAUDIT_LLM_BASE_URL and PLAUDIT_LLM_MODEL",
            final=True,
        )
    if not examples and not target.instructions:
        raise ScoringFailed("nothing to learn from yet: no labels from people and no instructions")
    return llm_scorer(
        llm(), llm_model, target, field_name, ExamplePool(examples, target.fields), spec.examples
    )
