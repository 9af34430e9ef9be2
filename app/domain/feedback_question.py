"""The question a presigned token asks, and the answers it offers: what the widget
renders, what the email page shows and what each email link preselects.

It follows the token's key: thumbs (Yes = 1, No = 0) for a boolean key and for an
unregistered one; a scale of whole numbers (min..max, 3 to 11 of them) for a
continuous key with such a range, any other number for other continuous keys;
one answer per category for a categorical key; a comment only for a freeform key.
The question is the token's ``prompt``, else the key's description, else a
default for the kind of answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.store import Stores
from app.store.feedback_keys import FeedbackKey
from app.store.feedback_tokens import FeedbackToken

THUMBS = "thumbs"
SCALE = "scale"
CATEGORICAL = "categorical"
NUMBER = "number"
COMMENT = "comment"
# A whole-number range of 3 to 11 values is a scale; 0..1 is a fraction, not two steps.
MIN_SCALE_STEPS = 3
MAX_SCALE_STEPS = 11
DEFAULT_PROMPTS = {
    THUMBS: "Was this helpful?",
    SCALE: "How would you rate this?",
    CATEGORICAL: "Which fits best?",
    NUMBER: "How would you score this?",
    COMMENT: "Anything to tell us?",
}


@dataclass(frozen=True)
class Choice:
    score: float
    label: str


@dataclass(frozen=True)
class Question:
    prompt: str
    kind: str  # thumbs | scale | categorical | number | comment
    choices: tuple[Choice, ...]
    min: float | None = None
    max: float | None = None
    higher_is_better: bool = True

    def label_of(self, score: Any) -> str | None:
        """The label of the answer ``score`` (its number when it has none)."""
        if score is None:
            return None
        for choice in self.choices:
            if choice.score == float(score):
                return choice.label
        return f"{float(score):g}"

    @property
    def best(self) -> Choice | None:
        """The best answer offered, by the key's direction (Yes, for most thumbs)."""
        if not self.choices:
            return None
        pick = max if self.higher_is_better else min
        return pick(self.choices, key=lambda c: c.score)

    @property
    def worst(self) -> Choice | None:
        if not self.choices:
            return None
        pick = min if self.higher_is_better else max
        return pick(self.choices, key=lambda c: c.score)

    def public(self) -> dict[str, Any]:
        """What the widget needs, and nothing more (no key, run or user)."""
        return {
            "prompt": self.prompt,
            "kind": self.kind,
            "choices": [{"score": _number(c.score), "label": c.label} for c in self.choices],
            "min": None if self.min is None else _number(self.min),
            "max": None if self.max is None else _number(self.max),
        }


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _whole(value: float) -> bool:
    return float(value).is_integer()


def question(fk: FeedbackKey | None, prompt: str | None = None) -> Question:
    """The question for a key (None: unregistered), asked with ``prompt`` if given."""
    kind, choices, low, high, better = _answers(fk)
    text = prompt or (fk.description if fk is not None else None) or DEFAULT_PROMPTS[kind]
    return Question(text, kind, choices, low, high, better)


def _answers(
    fk: FeedbackKey | None,
) -> tuple[str, tuple[Choice, ...], float | None, float | None, bool]:
    if fk is None or fk.kind == "boolean":
        better = fk.higher_is_better if fk is not None else True
        return THUMBS, (Choice(1.0, "Yes"), Choice(0.0, "No")), 0.0, 1.0, better
    better = fk.higher_is_better
    if fk.kind == "categorical":
        choices = tuple(Choice(float(c.value), c.label) for c in fk.categories)
        values = [c.score for c in choices]
        return CATEGORICAL, choices, min(values), max(values), better
    if fk.kind == "freeform":
        return COMMENT, (), None, None, better
    low, high = fk.min, fk.max
    if low is not None and high is not None and _whole(low) and _whole(high):
        steps = range(int(low), int(high) + 1)
        if MIN_SCALE_STEPS <= len(steps) <= MAX_SCALE_STEPS:
            return SCALE, tuple(Choice(float(n), str(n)) for n in steps), low, high, better
    return NUMBER, (), low, high, better


async def token_question(stores: Stores, record: FeedbackToken) -> Question:
    """The question a token asks, from its key's registration (cached briefly)."""
    fk = await stores.feedback_keys.get_cached(record.project_id, record.key)
    return question(fk, record.prompt)
