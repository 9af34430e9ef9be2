"""What scores a run for a rule, and how its score is stored.

- ``PredictorScorer``: automatic feedback's predictors (app/domain/autofeedback/):
  AutoFeedbackICL (``llm`` on a task), a key's model judge (``llm`` on a key), the
  nearest-neighbour baseline (on either). The label is stored the way automatic
  feedback stores it: a task submission (with its metric feedback) or a feedback
  record on the key.
- ``CheckScorer``: a built-in check, stored as a boolean on the rule's key.
- ``HttpScorer``: the HTTP evaluator's answer, stored on the rule's key.

Every record is by user ``rule:<rule id>`` (so rules never overwrite each other or
people), source ``MODEL`` (``API`` for the HTTP evaluator), with ``sourceInfo``
naming the rule, its version, the scorer and the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.domain.autofeedback.llm import LLMClient, LLMError
from app.domain.autofeedback.predictors import (
    NEAREST_NEIGHBOUR,
    ChatModel,
    IclPredictor,
    NearestNeighbour,
    PredictionFailed,
    Predictor,
)
from app.domain.autofeedback.selection import ExamplePool
from app.domain.autofeedback.targets import Prediction, Target
from app.domain.evaluation.checks import Check
from app.domain.evaluation.http_scorer import HttpEvaluationFailed, HttpEvaluator
from app.domain.feedback import Change, FeedbackWrite, create_feedback
from app.store import Stores
from app.store.runs import Run


class ScoringFailed(Exception):
    """The scorer gave no score this time; ``final`` when retrying cannot help."""

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.final = final


@dataclass(frozen=True)
class Outcome:
    score: float | bool
    label: dict[str, Any] = field(default_factory=dict)  # a predictor's whole label
    value: Any = None
    comment: str | None = None
    model: str | None = None
    source_info: dict[str, Any] = field(default_factory=dict)
    tokens: int = 0


@dataclass(frozen=True)
class Writer:
    """Who writes a rule's feedback, and what every record says about its origin."""

    reviewer: str  # "rule:<id>"
    change: Change
    source_info: dict[str, Any]


class Scorer(Protocol):
    name: str  # sourceInfo.scorer: llm, nearest_neighbour, check:<type>, http
    model: str | None

    async def score(self, evaluation_id: str, run: Run) -> Outcome: ...

    async def store(self, stores: Stores, run: Run, outcome: Outcome, writer: Writer) -> None: ...


def numeric(score: float | bool) -> float:
    return float(score)


class MeteredLLM:
    """An LLM client that counts the tokens one evaluation used."""

    def __init__(self, client: LLMClient) -> None:
        self.client = client
        self.tokens = 0

    async def complete_json(
        self, model: str, messages: list[dict[str, str]], schema: dict[str, Any]
    ) -> str:
        answer, tokens = await self.client.complete_json_with_usage(model, messages, schema)
        self.tokens += tokens
        return answer


class PredictorScorer:
    def __init__(
        self,
        name: str,
        model: str,
        target: Target,
        field_name: str,
        predictor: Callable[[ChatModel | None], Predictor],
        llm: LLMClient | None,
    ) -> None:
        self.name = name
        self.model: str | None = model
        self.target = target
        self.field_name = field_name
        self._predictor = predictor
        self._llm = llm

    async def score(self, evaluation_id: str, run: Run) -> Outcome:
        metered = MeteredLLM(self._llm) if self._llm is not None else None
        try:
            prediction = await self._predictor(metered).predict(run)
        except LLMError as exc:
            raise ScoringFailed(exc.message) from None
        except PredictionFailed as exc:
            raise ScoringFailed(exc.message) from None
        value = prediction.values.get(self.field_name)
        if not isinstance(value, bool | int | float):
            raise ScoringFailed(f"the label has no number or boolean at {self.field_name!r}")
        return Outcome(
            score=value,
            label=prediction.values,
            model=self.model,
            source_info=prediction.source_info,
            tokens=metered.tokens if metered is not None else 0,
        )

    async def store(self, stores: Stores, run: Run, outcome: Outcome, writer: Writer) -> None:
        info = {**outcome.source_info, **writer.source_info}
        await self.target.store(
            stores, run.id, Prediction(outcome.label, info), writer.reviewer, writer.change
        )


def llm_scorer(
    llm: LLMClient, model: str, target: Target, field_name: str, pool: ExamplePool, k: int
) -> PredictorScorer:
    def predictor(client: ChatModel | None) -> Predictor:
        assert client is not None
        return IclPredictor(client, model, target, pool, k)

    return PredictorScorer("llm", model, target, field_name, predictor, llm)


def nearest_neighbour_scorer(
    target: Target, field_name: str, baseline: NearestNeighbour
) -> PredictorScorer:
    return PredictorScorer(
        "nearest_neighbour", NEAREST_NEIGHBOUR, target, field_name, lambda _: baseline, None
    )


async def _write_score(
    stores: Stores,
    run: Run,
    key: str,
    outcome: Outcome,
    writer: Writer,
    source_type: str,
) -> None:
    write = FeedbackWrite(
        run_id=run.id,
        key=key,
        score=outcome.score,
        value=outcome.value,
        source_type=source_type,
        source_info={**outcome.source_info, **writer.source_info},
        user_id=writer.reviewer,
    )
    if outcome.comment is not None:
        write.comment = outcome.comment
    await create_feedback(stores, run.project_id, write, writer.change)


class CheckScorer:
    model: str | None = None

    def __init__(self, check: Check, key: str) -> None:
        self.check = check
        self.key = key
        self.name = f"check:{check.name}"

    async def score(self, evaluation_id: str, run: Run) -> Outcome:
        result = self.check.apply(run)  # NotApplicable: the worker skips the run
        return Outcome(score=result.passed, value=result.value)

    async def store(self, stores: Stores, run: Run, outcome: Outcome, writer: Writer) -> None:
        await _write_score(stores, run, self.key, outcome, writer, "model")


class HttpScorer:
    name = "http"

    def __init__(self, evaluator: HttpEvaluator, key: str, rule: dict[str, Any]) -> None:
        self.evaluator = evaluator
        self.key = key
        self.rule = rule
        self.model: str | None = None

    async def score(self, evaluation_id: str, run: Run) -> Outcome:
        try:
            answer = await self.evaluator.evaluate(evaluation_id, run.project_id, self.rule, run)
        except HttpEvaluationFailed as exc:
            raise ScoringFailed(exc.message, final=exc.final) from None
        return Outcome(
            score=answer.score,
            value=answer.value,
            comment=answer.comment,
            model=answer.model,
            source_info={"url": self.evaluator.url},
        )

    async def store(self, stores: Stores, run: Run, outcome: Outcome, writer: Writer) -> None:
        await _write_score(stores, run, self.key, outcome, writer, "api")
