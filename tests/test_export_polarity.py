"""The positive/negative rule (app/domain/analytics/rules.py), in Python and as the
aggregation expression the exports run in the database: the two must agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette

from app.domain.analytics.rules import NEGATIVE, NEUTRAL, POSITIVE, KeyRule
from app.domain.export.polarity import polarity_expression
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


REGISTERED = (
    key("thumbs", "boolean"),
    key("stars", "continuous", min=1, max=5),
    key("latency", "continuous", min=0, max=10, higher_is_better=False),
    key("open", "continuous", min=0),
    key("grade", "categorical", categories=[Category(1, "bad"), Category(3, "good")]),
    key("notes", "freeform"),
)
RULES = {
    **{k.key: KeyRule.of(k.key, k) for k in REGISTERED},
    # unregistered: scores only 0/1 (boolean), and others
    "quickstart": KeyRule.of("quickstart", None, binary=True),
    "unregistered": KeyRule.of("unregistered", None, binary=False),
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
    ("open", 0, NEUTRAL),
    ("grade", 3, POSITIVE),
    ("grade", 1, NEGATIVE),
    ("grade", 2, NEUTRAL),
    ("notes", 5, NEUTRAL),
    ("quickstart", 1, POSITIVE),
    ("quickstart", 0, NEGATIVE),
    ("quickstart", 0.25, NEGATIVE),
    ("quickstart", 0.5, NEUTRAL),
    ("unregistered", 0.01, POSITIVE),
    ("unregistered", 0, NEUTRAL),
    ("unregistered", -2, NEGATIVE),
]


def test_python_rule() -> None:
    for name, mean, expected in CASES:
        assert RULES[name].polarity(mean) == expected, (name, mean)


async def test_database_expression_agrees(app: Starlette) -> None:
    collection = services(app).stores.db["polarity_check"]
    await collection.insert_many(
        [{"_id": {"key": name, "n": i}, "mean": mean} for i, (name, mean, _) in enumerate(CASES)]
    )
    rows = await (
        await collection.aggregate(
            [{"$addFields": {"polarity": polarity_expression(RULES)}}, {"$sort": {"_id.n": 1}}]
        )
    ).to_list()
    assert [row["polarity"] for row in rows] == [expected for _, _, expected in CASES]
    # A key with no rule (no rollups yet) reads as an unregistered key with no
    # scores: boolean, threshold 0.5.
    rows = await (
        await collection.aggregate(
            [{"$addFields": {"polarity": polarity_expression({})}}, {"$sort": {"_id.n": 1}}]
        )
    ).to_list()
    assert [row["polarity"] for row in rows] == [
        POSITIVE if mean > 0.5 else NEGATIVE if mean < 0.5 else NEUTRAL for _, mean, _ in CASES
    ]
