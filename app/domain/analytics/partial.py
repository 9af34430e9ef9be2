"""Partial statistics: sums that merge, and the numbers computed from them.

Rollup documents and ad-hoc aggregation rows both become :class:`Partial`s (one per
key and group, with the key's rule already applied), which are merged per group
and finished into :class:`GroupStats`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from app.domain.analytics.rules import KeyRule
from app.store.score_bins import bin_value
from app.store.score_sums import ScoreSums

MAX_DISTRIBUTION_BUCKETS = 50


@dataclass
class Partial:
    count: int = 0  # live records
    scored: int = 0  # ... with a score
    commented: int = 0  # ... with a non-empty comment
    total: float = 0.0  # sum of scores (booleans as 1/0)
    total_sq: float = 0.0  # sum of squared scores
    low: float | None = None
    high: float | None = None
    positive: int = 0
    negative: int = 0
    hist: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    label_order: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        rule: KeyRule,
        sums: ScoreSums,
        *,
        above: int,
        below: int,
        low: float | None,
        high: float | None,
        hist: Counter[str],
    ) -> Partial:
        """The partial of a rollup's or an aggregation row's sums, its sides
        (``above``/``below`` the threshold) read with ``rule``'s direction."""
        positive, negative = rule.positive_negative(above, below)
        return cls(
            count=sums.count,
            scored=sums.scored,
            commented=sums.commented,
            total=sums.total,
            total_sq=sums.total_sq,
            low=low,
            high=high,
            positive=positive,
            negative=negative,
            hist=hist,
        )

    def merge(self, other: Partial) -> None:
        self.count += other.count
        self.scored += other.scored
        self.commented += other.commented
        self.total += other.total
        self.total_sq += other.total_sq
        if other.low is not None:
            self.low = other.low if self.low is None else min(self.low, other.low)
        if other.high is not None:
            self.high = other.high if self.high is None else max(self.high, other.high)
        self.positive += other.positive
        self.negative += other.negative
        self.hist.update(other.hist)
        self.labels.update(other.labels)
        for label, order in other.label_order.items():
            self.label_order.setdefault(label, order)

    def add_labels(self, rule: KeyRule, bool_true: int, bool_false: int) -> None:
        """Label counts: true/false for boolean scores, category labels for a
        categorical key (from the histogram, so call after ``hist`` is filled)."""
        if rule.kind == "boolean" and self.hist:
            # A boolean key's 1s and 0s are its trues and falses (an unregistered
            # key counts as boolean when its scores are only those).
            bool_true, bool_false = self.hist.get("x100", 0), self.hist.get("x0", 0)
        if rule.kind == "boolean" or bool_true or bool_false:
            self.labels["true"] += bool_true
            self.labels["false"] += bool_false
            self.label_order.setdefault("true", 0)
            self.label_order.setdefault("false", 1)
        if rule.kind == "categorical" and rule.categories:
            for index, category in enumerate(rule.categories):
                self.labels[category.label] += 0
                self.label_order.setdefault(category.label, index)
            for key, n in self.hist.items():
                value = bin_value(key)
                nearest = min(rule.categories, key=lambda c: abs(c.value - value))
                self.labels[nearest.label] += n


@dataclass(frozen=True)
class LabelCount:
    label: str
    count: int


@dataclass(frozen=True)
class DistributionBucket:
    low: float
    high: float
    count: int


@dataclass(frozen=True)
class GroupStats:
    group: dict[str, object]
    count: int
    scored: int
    commented: int
    mean: float | None
    min: float | None
    max: float | None
    stddev: float | None
    p50: float | None
    p90: float | None
    positive: int
    negative: int
    labels: list[LabelCount]
    distribution: list[DistributionBucket]

    @property
    def positive_share(self) -> float | None:
        return self.positive / self.scored if self.scored else None

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.scored if self.scored else None


def percentile(hist: Counter[str], fraction: float) -> float | None:
    """Nearest rank: the smallest value with at least ``fraction`` of all at or below."""
    total = sum(n for n in hist.values() if n > 0)
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total - 1e-9))
    seen = 0
    for value, n in sorted((bin_value(k), n) for k, n in hist.items() if n > 0):
        seen += n
        if seen >= rank:
            return value
    return None  # pragma: no cover - seen reaches total


def distribution(
    hist: Counter[str], low: float | None, high: float | None, buckets: int
) -> list[DistributionBucket]:
    """Each distinct value when there are at most ``buckets`` of them; otherwise
    ``buckets`` equal-width buckets from min to max (bins placed by their value)."""
    values = sorted((bin_value(k), n) for k, n in hist.items() if n > 0)
    if not values:
        return []
    if len(values) <= buckets or low is None or high is None or high <= low:
        return [DistributionBucket(v, v, n) for v, n in values]
    width = (high - low) / buckets
    counts = [0] * buckets
    for value, n in values:
        index = min(buckets - 1, max(0, int((value - low) / width)))
        counts[index] += n
    return [
        DistributionBucket(low + i * width, low + (i + 1) * width, n) for i, n in enumerate(counts)
    ]


def finish(
    group: dict[str, object], partial: Partial, *, distribution_buckets: int = 10
) -> GroupStats:
    mean = stddev = None
    if partial.scored:
        mean = partial.total / partial.scored
        variance = max(0.0, partial.total_sq / partial.scored - mean * mean)
        stddev = math.sqrt(variance)
    labels = sorted(
        partial.labels.items(), key=lambda item: (partial.label_order.get(item[0], 0), item[0])
    )
    return GroupStats(
        group=group,
        count=partial.count,
        scored=partial.scored,
        commented=partial.commented,
        mean=mean,
        min=partial.low if partial.scored else None,
        max=partial.high if partial.scored else None,
        stddev=stddev,
        p50=percentile(partial.hist, 0.5),
        p90=percentile(partial.hist, 0.9),
        positive=partial.positive,
        negative=partial.negative,
        labels=[LabelCount(label, n) for label, n in labels],
        distribution=distribution(
            partial.hist, partial.low, partial.high, min(distribution_buckets, 50)
        ),
    )
