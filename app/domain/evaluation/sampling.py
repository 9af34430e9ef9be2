"""Which runs are in a rule's sample: decided by a hash of the rule id and the run id,
so every process, every retry and every backfill makes the same choice without
asking anyone, and the choice is uniform over runs.

The first 8 bytes of ``sha256("<rule id>:<run id>")``, read as an unsigned integer
and divided by 2**64, are a number in [0, 1) that is, for practical purposes,
uniformly distributed and independent between runs; a run is sampled when that
number is below the rule's rate. So a rate of 1 samples every run, 0 none, and 0.3
each run with probability 0.3 independently of the others. The rule id is part of
the hash so two rules at the same rate sample different runs; editing a rule keeps
its id, and so its sample.
"""

from __future__ import annotations

import hashlib

SCALE = float(2**64)


def sample_point(rule_id: str, run_id: str) -> float:
    """The run's place in [0, 1) for this rule."""
    digest = hashlib.sha256(f"{rule_id}:{run_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / SCALE


def is_sampled(rule_id: str, run_id: str, rate: float) -> bool:
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return sample_point(rule_id, run_id) < rate
