"""What counts as positive and negative feedback on a key.

- Boolean scores: ``true`` is the high side, ``false`` the low side.
- Numeric scores are compared with the key's threshold: the midpoint of the
  registered range (``(min + max) / 2`` for a continuous key with both bounds, the
  midpoint of the category values for a categorical key), and 0 for a key that is
  unregistered or registered without both bounds. Above is high, below is low, a
  score exactly on the threshold is neither.
- Direction: with ``higher_is_better`` (the default) high is positive and low is
  negative; with ``higher_is_better=false`` it is the other way round.

Rollups count high and low sides, tagged with the threshold they were counted
against (:attr:`KeyRule.rule_id`); a rollup counted against another threshold (the
key was registered or re-ranged since) is recounted from raw feedback when read.
The direction is applied when reading, so flipping ``higher_is_better`` needs no
recount.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.store import Stores
from app.store.feedback_keys import Category, FeedbackKey


@dataclass(frozen=True)
class KeyRule:
    key: str
    kind: str | None  # the registered kind, None when unregistered
    threshold: float
    higher_is_better: bool = True
    categories: tuple[Category, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, key: str, registered: FeedbackKey | None) -> KeyRule:
        if registered is None:
            return cls(key=key, kind=None, threshold=0.0)
        threshold = 0.0
        if registered.kind == "continuous" and None not in (registered.min, registered.max):
            assert registered.min is not None and registered.max is not None
            threshold = (registered.min + registered.max) / 2
        elif registered.kind == "categorical" and registered.categories:
            values = [c.value for c in registered.categories]
            threshold = (min(values) + max(values)) / 2
        return cls(
            key=key,
            kind=registered.kind,
            threshold=float(threshold),
            higher_is_better=registered.higher_is_better,
            categories=tuple(registered.categories),
        )

    @property
    def rule_id(self) -> str:
        """Identifies the threshold high and low were counted against."""
        return f"t{self.threshold!r}"

    def sides(self, score: float | bool) -> tuple[int, int]:
        """(1, 0) for the high side, (0, 1) for the low side, (0, 0) for neither."""
        if isinstance(score, bool):
            return (1, 0) if score else (0, 1)
        if score > self.threshold:
            return 1, 0
        if score < self.threshold:
            return 0, 1
        return 0, 0

    def positive_negative(self, high: int, low: int) -> tuple[int, int]:
        return (high, low) if self.higher_is_better else (low, high)


async def load_rules(stores: Stores, project_id: str, keys: list[str] | None) -> dict[str, KeyRule]:
    """Every registered key's rule (or those of ``keys``, registered or not)."""
    if keys is None:
        registered = {fk.key: fk for fk in await stores.feedback_keys.list(project_id)}
        return {k: KeyRule.of(k, fk) for k, fk in registered.items()}
    found = await stores.feedback_keys.get_many(project_id, keys)
    return {k: KeyRule.of(k, found.get(k)) for k in keys}


class KeyRuleCache:
    """Rules for the write path, from the key store's own short-lived cache: a key
    re-registered in this process is seen at once, in others within its TTL; rollups
    counted meanwhile are recounted when read."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    async def get(self, project_id: str, key: str) -> KeyRule:
        return KeyRule.of(key, await self.stores.feedback_keys.get_cached(project_id, key))
