"""Feedback keys: what a score means, and the check of scores against it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.domain import validation as v
from app.domain.analytics import recounts
from app.errors import BadRequest, NotFound
from app.store import Stores
from app.store.feedback_keys import FeedbackKey

KINDS = ("continuous", "categorical", "boolean", "freeform")


class InvalidFeedbackValue(BadRequest):
    """A score or value that the feedback key does not allow (HTTP 422)."""

    http_status = 422


@dataclass
class KeyConfig:
    kind: str
    min: float | None = None
    max: float | None = None
    categories: list[tuple[float, str]] | None = None
    higher_is_better: bool = True
    description: str | None = None
    # Enforced: feedback the config does not allow is refused (422). Not enforced:
    # the config says what scores mean (statistics, labels, direction) and
    # refuses nothing, as LangSmith's unenforced feedback configs.
    enforced: bool = True
    # Archived (Langfuse's score configs): kept for the scores it has; scores that
    # name the archived config are refused (app/compat/langfuse/configs.py).
    archived: bool = False


def check_key_name(key: str) -> str:
    v.check_text(key, "key", 200)
    if not key.strip():
        raise BadRequest("key must not be empty", field="key")
    return key


async def register_key(stores: Stores, project_id: str, key: str, config: KeyConfig) -> FeedbackKey:
    """Declare (or change) what a key's scores mean. A moved threshold starts a
    recount of the key's run tallies (app/domain/analytics/recounts.py)."""
    registered = await stores.feedback_keys.register(project_id, key, _key_doc(key, config))
    await recounts.recount_if_threshold_moved(stores, project_id, key)
    return registered


async def register_key_if_new(
    stores: Stores, project_id: str, key: str, config: KeyConfig
) -> FeedbackKey:
    """Declare a key that has no config yet; a key that has one keeps it (however
    many requests race to declare it first)."""
    registered = await stores.feedback_keys.register_if_absent(
        project_id, key, _key_doc(key, config)
    )
    await recounts.recount_if_threshold_moved(stores, project_id, key)
    return registered


def _key_doc(key: str, config: KeyConfig) -> dict[str, Any]:
    check_key_name(key)
    if config.kind not in KINDS:
        raise BadRequest(f"unknown kind {config.kind!r}; kinds are {', '.join(KINDS)}")
    v.check_text(config.description, "description", v.MAX_COMMENT_CHARS)
    doc: dict[str, Any] = {
        "kind": config.kind,
        "min": None,
        "max": None,
        "categories": [],
        "higher_is_better": config.higher_is_better,
        "description": config.description,
        "enforced": config.enforced,
        "archived": config.archived,
    }
    if config.kind == "continuous":
        for name in ("min", "max"):
            value = getattr(config, name)
            if value is not None and not math.isfinite(value):
                raise BadRequest(f"{name} must be a finite number")
        if config.min is not None and config.max is not None and config.min >= config.max:
            raise BadRequest(f"min ({config.min}) must be below max ({config.max})")
        doc["min"], doc["max"] = config.min, config.max
    elif config.min is not None or config.max is not None:
        raise BadRequest(f"min and max apply only to continuous keys, not {config.kind}")
    if config.kind == "categorical":
        categories = config.categories or []
        if len(categories) < 2:
            raise BadRequest("a categorical key needs at least two categories")
        values = [value for value, _ in categories]
        labels = [label for _, label in categories]
        if len(set(values)) != len(values) or len(set(labels)) != len(labels):
            raise BadRequest("category values and labels must each be unique")
        for label in labels:
            v.check_text(label, "categories.label", 200)
        doc["categories"] = [{"value": value, "label": label} for value, label in categories]
    elif config.categories:
        raise BadRequest(f"categories apply only to categorical keys, not {config.kind}")
    return doc


async def delete_key(stores: Stores, project_id: str, key: str) -> None:
    """Forget what a key's scores mean (its feedback stays)."""
    if not await stores.feedback_keys.delete(project_id, key):
        raise NotFound(f"feedback key {key!r} is not registered", key=key)
    await recounts.recount_if_threshold_moved(stores, project_id, key)


def describe_allowed(fk: FeedbackKey) -> str:
    if fk.kind == "continuous":
        low = "-inf" if fk.min is None else f"{fk.min:g}"
        high = "inf" if fk.max is None else f"{fk.max:g}"
        return f"a number from {low} to {high}"
    if fk.kind == "categorical":
        return "one of " + ", ".join(f"{c.value:g} ({c.label})" for c in fk.categories)
    if fk.kind == "boolean":
        return "true or false (or 1 or 0)"
    return "no score (a value or comment only)"


def allowed_values(fk: FeedbackKey) -> dict[str, Any]:
    return {
        "kind": fk.kind,
        "min": fk.min,
        "max": fk.max,
        "categories": [{"value": c.value, "label": c.label} for c in fk.categories],
    }


def check_score(key: str, fk: FeedbackKey | None, score: Any, value: Any) -> tuple[Any, Any]:
    """Check a score (and value) against the key; returns them normalized. A key
    that is not enforced refuses nothing: what it does not allow is kept as sent."""
    if (
        score is not None
        and not isinstance(score, bool)
        and (not isinstance(score, int | float) or not math.isfinite(score))
    ):
        raise InvalidFeedbackValue(f"score for key {key!r} must be a finite number or boolean")
    if fk is None:
        return score, value
    try:
        return _check_against(key, fk, score, value)
    except InvalidFeedbackValue:
        if fk.enforced:
            raise
        return score, value


def _check_against(key: str, fk: FeedbackKey, score: Any, value: Any) -> tuple[Any, Any]:

    def bad(what: str) -> InvalidFeedbackValue:
        return InvalidFeedbackValue(
            f"{what} for key {key!r}: allowed is {describe_allowed(fk)}",
            key=key,
            allowed=allowed_values(fk),
        )

    if fk.kind == "continuous" and score is not None:
        if isinstance(score, bool):
            raise bad(f"score {score!r} is not a number")
        if (fk.min is not None and score < fk.min) or (fk.max is not None and score > fk.max):
            raise bad(f"score {score:g} is out of range")
    elif fk.kind == "boolean" and score is not None:
        if not isinstance(score, bool):
            if score not in (0, 1):
                raise bad(f"score {score:g} is not a boolean")
            score = bool(score)
    elif fk.kind == "categorical":
        by_label = {c.label: c.value for c in fk.categories}
        if score is None and isinstance(value, str) and value in by_label:
            score = by_label[value]
        if score is not None:
            if isinstance(score, bool) or score not in {c.value for c in fk.categories}:
                raise bad(f"score {score!r} is not a category")
            if value is None:
                value = next(c.label for c in fk.categories if c.value == score)
    elif fk.kind == "freeform" and score is not None:
        raise bad(f"score {score!r} given")
    return score, value
