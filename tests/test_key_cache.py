"""The in-process API key cache: an entry that expires while it is being read is
a miss (a fresh lookup), never an error. Reading it as `in` then `[]` took two
clock readings, and an entry expiring between them raised KeyError: a 500 that
the soak benchmark hit about once in 50,000 requests."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.auth import KeyCache
from app.store.api_keys import ApiKey


class TickingClock:
    """Each reading is 0.6 s after the previous one."""

    def __init__(self) -> None:
        self.now = -0.6

    def __call__(self) -> float:
        self.now += 0.6
        return self.now


KEY = ApiKey(
    id="k1",
    project_id="p1",
    role="ingest",
    name="test",
    prefix="plaudit_abc",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    revoked_at=None,
)


def test_an_entry_expiring_during_the_read_is_a_hit_or_a_miss() -> None:
    cache = KeyCache(ttl=1.0, timer=TickingClock())
    cache.put("h", KEY)  # stored at 0.0, expires at 1.0
    assert cache.get("h") == (True, KEY)  # read at 0.6 (a second reading: 1.2)
    assert cache.get("h") == (False, None)  # read at 1.2: expired


def test_a_cached_miss_is_a_hit() -> None:
    cache = KeyCache(ttl=5.0)
    cache.put("unknown", None)
    assert cache.get("unknown") == (True, None)
    assert cache.get("other") == (False, None)
