"""Predictors: turn a run into a label. ``IclPredictor`` asks an LLM with examples
(AutoFeedbackICL); ``NearestNeighbour`` copies the label of the most similar
labelled run, with no LLM at all (the offline baseline)."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from app.domain.autofeedback.prompt import PROMPT_VERSION, build_messages, retry_message
from app.domain.autofeedback.selection import ExamplePool
from app.domain.autofeedback.similarity import TfidfIndex, text_of
from app.domain.autofeedback.targets import Example, Prediction, Target
from app.store.runs import Run

NEAREST_NEIGHBOUR = "nearest-neighbour"
FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class PredictionFailed(Exception):
    """No valid label for the run (recorded as the run's failure, never as feedback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Predictor(Protocol):
    async def predict(self, run: Run) -> Prediction: ...


class ChatModel(Protocol):
    """What a predictor asks: an LLMClient, or a wrapper that counts its tokens."""

    async def complete_json(
        self, model: str, messages: list[dict[str, str]], schema: dict[str, Any]
    ) -> str: ...


def parse_answer(text: str) -> tuple[Any, list[str]]:
    """The JSON in an answer (a ```json fence around it is allowed), or the problem."""
    stripped = text.strip()
    fenced = FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    try:
        return json.loads(stripped), []
    except ValueError as exc:
        return None, [f"$: the answer is not JSON ({exc})"]


class IclPredictor:
    """AutoFeedbackICL: k examples chosen for the run, one JSON answer, validated
    against the schema; an invalid answer is retried once with the validation errors."""

    def __init__(
        self, client: ChatModel, model: str, target: Target, pool: ExamplePool, k: int
    ) -> None:
        self.client = client
        self.model = model
        self.target = target
        self.pool = pool
        self.k = k

    async def predict(self, run: Run) -> Prediction:
        examples = self.pool.select(run, self.k)
        messages = build_messages(self.target, examples, run)
        answer = await self.client.complete_json(self.model, messages, self.target.schema)
        values, problems = self._check(answer)
        if problems:
            messages = [
                *messages,
                {"role": "assistant", "content": answer},
                {"role": "user", "content": retry_message(problems)},
            ]
            answer = await self.client.complete_json(self.model, messages, self.target.schema)
            values, problems = self._check(answer)
        if problems:
            raise PredictionFailed(
                "the model's answer was invalid twice: " + "; ".join(problems[:5])
            )
        return Prediction(
            values=values,
            source_info={
                "method": "llm",
                "model": self.model,
                "prompt_version": PROMPT_VERSION,
                "example_run_ids": [e.run.id for e in examples],
            },
        )

    def _check(self, answer: str) -> tuple[dict[str, Any], list[str]]:
        values, problems = parse_answer(answer)
        if not problems:
            problems = self.target.problems(values)
        return (values if not problems else {}), problems


def run_text(run: Run) -> str:
    """What the baseline compares: the input and the output (the label judges both)."""
    return text_of(run.inputs) + "\n" + text_of(run.outputs)


class NearestNeighbour:
    """The label of the labelled run most similar to the run (TF-IDF cosine over input
    and output). Ties go to the newer label; with nothing in common with any labelled
    run (similarity 0), the most frequent label (ties: the newest)."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self.examples = list(examples)
        self.index = TfidfIndex([run_text(e.run) for e in self.examples])

    async def predict(self, run: Run) -> Prediction:
        return self.predict_now(run)

    def predict_now(self, run: Run) -> Prediction:
        similarity = self.index.similarities(run_text(run))
        candidates = [i for i, e in enumerate(self.examples) if e.run.id != run.id]
        if not candidates:
            raise PredictionFailed("no labelled runs to compare with")
        best = min(candidates, key=lambda i: (-similarity[i], i))
        if similarity[best] > 0:
            chosen = self.examples[best]
            info: dict[str, Any] = {
                "method": "nearest_neighbour",
                "model": NEAREST_NEIGHBOUR,
                "neighbour_run_id": chosen.run.id,
                "similarity": round(similarity[best], 6),
                "example_run_ids": [chosen.run.id],
            }
            return Prediction(copy.deepcopy(chosen.values), info)
        labels = [json.dumps(self.examples[i].values, sort_keys=True) for i in candidates]
        counts = Counter(labels)
        top = max(counts.values())
        first = next(i for i, label in zip(candidates, labels, strict=True) if counts[label] == top)
        info = {
            "method": "nearest_neighbour",
            "model": NEAREST_NEIGHBOUR,
            "fallback": "most_frequent_label",
            "example_run_ids": [],
        }
        return Prediction(copy.deepcopy(self.examples[first].values), info)
