"""Every collection Plaudit stores has a row in the lifecycle table, so erasure, run
deletion and retention cannot miss one added later."""

from __future__ import annotations

import re
from pathlib import Path

from app.store.indexes import INDEXES
from app.store.lifecycle import BURY, DELETE, PULL, RULES, SCRUB

STORE = Path(__file__).resolve().parents[1] / "app" / "store"
NAMED = re.compile(r'db\["(\w+)"\]|COLLECTION = "(\w+)"')


def _collections_in_store_code() -> set[str]:
    names: set[str] = set()
    for path in STORE.rglob("*.py"):
        for match in NAMED.finditer(path.read_text()):
            names.add(match.group(1) or match.group(2))
    return names


def test_every_collection_has_a_lifecycle_rule() -> None:
    known = {rule.collection for rule in RULES}
    used = _collections_in_store_code() | {index.collection for index in INDEXES}
    assert used - known == set(), "add a Rule for these to app/store/lifecycle.py"
    assert len(known) == len(RULES), "one row per collection"


def test_a_rule_either_acts_or_says_why_not() -> None:
    for rule in RULES:
        acts = bool(rule.user_fields or rule.run_fields or rule.time_field)
        acts = acts or rule.on_user == SCRUB
        assert acts != bool(rule.why), rule.collection
        assert rule.on_user in (DELETE, BURY, PULL, SCRUB), rule.collection
