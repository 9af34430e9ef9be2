"""The positive/negative rule, in Python and as the aggregation expression the
exports run in the database: the two must agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette

from app.domain.export.polarity import (
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    polarity,
    polarity_expression,
    rule_for,
)
from app.store.feedback_keys import Category, FeedbackKey
from tests.conftest import services

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def key(name: str, kind: str, **config: Any) -> FeedbackKey:
    return FeedbackKey(
        id=name,
        project_id="p",
        key=name,
        kind=kind,
        min=config.get("min"),
        max=config.get("max"),
        categories=config.get("categories", []),
        higher_is_better=config.get("higher_is_better", True),
        description=None,
        created_at=NOW,
        updated_at=NOW,
    )


KEYS = {
    k.key: k
    for k in (
        key("thumbs", "boolean"),
        key("stars", "continuous", min=1, max=5),
        key("latency", "continuous", min=0, max=10, higher_is_better=False),
        key("open", "continuous", min=0),
        key("grade", "categorical", categories=[Category(1, "bad"), Category(3, "good")]),
        key("notes", "freeform"),
    )
}

# (key, mean score, expected polarity)
CASES = [
    ("thumbs", 1.0, POSITIVE),
    ("thumbs", 0.0, NEGATIVE),
    ("thumbs", 0.5, NEUTRAL),
    ("thumbs", 2 / 3, POSITIVE),
    ("stars", 4, POSITIVE),
    ("stars", 3, NEUTRAL),
    ("stars", 2.5, NEGATIVE),
    ("latency", 8, NEGATIVE),
    ("latency", 2, POSITIVE),
    ("latency", 5, NEUTRAL),
    ("open", 0.1, POSITIVE),
    ("open", 0, NEGATIVE),
    ("grade", 3, POSITIVE),
    ("grade", 1, NEGATIVE),
    ("grade", 2, NEUTRAL),
    ("notes", 5, NEUTRAL),
    ("unregistered", 0.01, POSITIVE),
    ("unregistered", 0, NEGATIVE),
    ("unregistered", -2, NEGATIVE),
]


def test_python_rule() -> None:
    for name, mean, expected in CASES:
        assert polarity(mean, rule_for(KEYS.get(name))) == expected, (name, mean)


async def test_database_expression_agrees(app: Starlette) -> None:
    collection = services(app).stores.db["polarity_check"]
    await collection.insert_many(
        [{"_id": {"key": name, "n": i}, "mean": mean} for i, (name, mean, _) in enumerate(CASES)]
    )
    rows = await (
        await collection.aggregate(
            [{"$addFields": {"polarity": polarity_expression(KEYS)}}, {"$sort": {"_id.n": 1}}]
        )
    ).to_list()
    assert [row["polarity"] for row in rows] == [expected for _, _, expected in CASES]
    # With no registered key at all, the unregistered rule applies.
    rows = await (
        await collection.aggregate(
            [{"$addFields": {"polarity": polarity_expression({})}}, {"$sort": {"_id.n": 1}}]
        )
    ).to_list()
    assert [row["polarity"] for row in rows] == [
        POSITIVE if mean > 0 else NEGATIVE for _, mean, _ in CASES
    ]
