"""The fixed-window counters behind the public routes' rate limits: exact under
concurrency (including the race of first hits in a window), and a new window
starts from zero."""

from __future__ import annotations

import asyncio
import time

from starlette.applications import Starlette

from app.store.rate_limits import Window
from tests.conftest import services


async def test_concurrent_hits_get_exactly_the_limit(app: Starlette) -> None:
    counters = services(app).stores.rate_limits
    window = Window.at(time.time(), 3600)  # current: the TTL monitor keeps it
    # 40 hits at once on a window with no document yet: the first ones race to
    # create it, the later ones find it full.
    allowed = await asyncio.gather(*(counters.hit("race", 10, window) for _ in range(40)))
    assert allowed.count(True) == 10
    doc = await counters.collection.find_one({"_id": f"race:{window.start}"})
    assert doc is not None and doc["count"] == 10  # refused hits are not counted


async def test_a_new_window_starts_from_zero(app: Starlette) -> None:
    counters = services(app).stores.rate_limits
    first = Window.at(time.time(), 3600)
    assert [await counters.hit("w", 2, first) for _ in range(3)] == [True, True, False]
    following = Window.at(first.end, 3600)
    assert following.start == first.end
    assert await counters.hit("w", 2, following)
    assert not await counters.hit("w", 2, first)  # the full window stays full
    assert await counters.hit("other", 2, first)  # and is per key


def test_windows_are_aligned_and_tell_when_to_retry() -> None:
    window = Window.at(125.5, 60)
    assert (window.start, window.end) == (120, 180)
    assert window.retry_after(125.5) == 55
    assert window.retry_after(179.9) == 1
    assert Window.at(180.0, 60).start == 180
