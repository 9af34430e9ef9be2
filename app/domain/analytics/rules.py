"""What counts as positive and negative feedback on a key: the one rule that the
statistics, the rollups, worst runs, the dashboard and the exports all read.

- A key's **threshold**: 0.5 for a boolean key; the midpoint of the registered
  range (``(min + max) / 2``) for a continuous key with both bounds; the midpoint
  of the category values for a categorical key; 0 for a continuous key without
  both bounds. A freeform key has none: its feedback is neither positive nor
  negative.
- An **unregistered key** counts as boolean while every live score it has ever
  had is 0, 1, true or false (known from its daily histogram rollups, see
  :meth:`app.store.feedback_rollups.FeedbackRollupStore.binary_keys`); otherwise it
  reads as a continuous key without bounds (threshold 0).
- A number **above** the threshold is high, **below** it low, exactly **on** it
  neither. A boolean is high when true and low when false.
- Direction: with ``higher_is_better`` (the default) high is positive and low is
  negative; with ``higher_is_better=false`` it is the other way round.

Statistics and worst runs judge every score; exports judge a run on a key by the
mean of its scores there (:meth:`KeyRule.polarity`), with the same threshold.

Rollups count high and low sides, tagged with the threshold they were counted
against (:attr:`KeyRule.rule_id`); a rollup counted against another threshold (the
key was registered, re-ranged, or an unregistered key stopped looking boolean) is
classified from its histogram when read. The direction is applied when reading, so
flipping ``higher_is_better`` needs no recount.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cachetools import TTLCache

from app.store import Stores
from app.store.feedback_keys import Category, FeedbackKey

POSITIVE = 1
NEGATIVE = -1
NEUTRAL = 0
BOOLEAN_THRESHOLD = 0.5
# How long the write path trusts what it inferred about an unregistered key. A
# stale guess only tags a rollup with another threshold; reads then classify
# that rollup from its histogram, so the numbers stay exact.
INFERRED_KIND_SECONDS = 30.0


@dataclass(frozen=True)
class KeyRule:
    key: str
    kind: str  # how the scores read: continuous | categorical | boolean | freeform
    registered: bool
    threshold: float | None  # None: no positive or negative (freeform)
    higher_is_better: bool = True
    low: float | None = None  # the range scores span, when known
    high: float | None = None
    categories: tuple[Category, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, key: str, registered: FeedbackKey | None, *, binary: bool = True) -> KeyRule:
        """The rule of a key from its registration; for an unregistered key,
        ``binary`` says whether its scores have all been 0/1 or booleans."""
        if registered is None:
            if binary:
                return cls(key, "boolean", False, BOOLEAN_THRESHOLD, low=0.0, high=1.0)
            return cls(key, "continuous", False, 0.0)
        kind, better = registered.kind, registered.higher_is_better
        if kind == "boolean":
            return cls(key, kind, True, BOOLEAN_THRESHOLD, better, 0.0, 1.0)
        if kind == "categorical" and registered.categories:
            values = [c.value for c in registered.categories]
            low, high = float(min(values)), float(max(values))
            categories = tuple(registered.categories)
            return cls(key, kind, True, (low + high) / 2, better, low, high, categories)
        if kind == "continuous" and registered.min is not None and registered.max is not None:
            low, high = float(registered.min), float(registered.max)
            return cls(key, kind, True, (low + high) / 2, better, low, high)
        if kind == "continuous":
            return cls(key, kind, True, 0.0, better, registered.min, registered.max)
        return cls(key, kind, True, None, better)

    @property
    def rule_id(self) -> str:
        """Identifies the threshold high and low were counted against."""
        return "none" if self.threshold is None else f"t{self.threshold!r}"

    def side(self, value: float) -> int:
        """1 above the threshold, -1 below, 0 on it (or no threshold)."""
        if self.threshold is None or value == self.threshold:
            return 0
        return 1 if value > self.threshold else -1

    def sides(self, score: float | bool) -> tuple[int, int]:
        """(1, 0) for the high side, (0, 1) for the low side, (0, 0) for neither.
        A boolean is always a verdict: true high, false low."""
        if isinstance(score, bool):
            return (1, 0) if score else (0, 1)
        side = self.side(float(score))
        return (1, 0) if side > 0 else (0, 1) if side < 0 else (0, 0)

    def positive_negative(self, high: int, low: int) -> tuple[int, int]:
        return (high, low) if self.higher_is_better else (low, high)

    def polarity(self, mean: float) -> int:
        """POSITIVE, NEGATIVE or NEUTRAL for a run's mean score on the key."""
        side = self.side(mean)
        return side if self.higher_is_better else -side


# A key with no rollups yet (none flushed) reads as an unregistered key with no
# scores: boolean. Aggregations apply this threshold to keys they have no rule for.
UNSEEN_THRESHOLD = BOOLEAN_THRESHOLD


def thresholds(rules: dict[str, KeyRule]) -> dict[str, float | None]:
    return {k: r.threshold for k, r in rules.items()}


async def load_rules(stores: Stores, project_id: str, keys: list[str] | None) -> dict[str, KeyRule]:
    """The rules of ``keys`` (registered or not); with None, of every registered
    key and every unregistered key that has feedback (from the rollups)."""
    if keys is None:
        registered = {fk.key: fk for fk in await stores.feedback_keys.list(project_id)}
    else:
        registered = await stores.feedback_keys.get_many(project_id, keys)
    others = None if keys is None else [k for k in keys if k not in registered]
    binary = await stores.feedback_rollups.binary_keys(project_id, others, skip=set(registered))
    rules = {k: KeyRule.of(k, fk) for k, fk in registered.items()}
    rules.update({k: KeyRule.of(k, None, binary=b) for k, b in binary.items()})
    return rules


class KeyRuleCache:
    """Rules for the write path: registrations from the key store's own short-lived
    cache (a key re-registered in this process is seen at once, in others within
    its TTL), and what unregistered keys look like from a cache of its own. Rollups
    counted against a rule that has since changed are classified from their
    histograms when read."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self._binary: TTLCache[tuple[str, str], bool] = TTLCache(
            maxsize=10_000, ttl=INFERRED_KIND_SECONDS
        )

    async def get(self, project_id: str, key: str) -> KeyRule:
        registered = await self.stores.feedback_keys.get_cached(project_id, key)
        if registered is not None:
            return KeyRule.of(key, registered)
        binary = self._binary.get((project_id, key))
        if binary is None:
            found = await self.stores.feedback_rollups.binary_keys(project_id, [key])
            binary = self._binary[(project_id, key)] = found[key]
        return KeyRule.of(key, None, binary=binary)
