"""The fixed-window counters behind the public routes' rate limits: never more
than the limit under concurrency (including the race of first hits in a window)
or across processes, a busy key leased in blocks instead of written per hit, and
a new window starts from zero."""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.applications import Starlette

from app.store.rate_limits import RateLimitCounters, Window, max_block
from tests.commands import CommandRecorder
from tests.conftest import services

pytestmark = pytest.mark.record_commands


def hour() -> Window:
    return Window.at(time.time(), 3600)  # current: the TTL monitor keeps it


def writes(recorder: CommandRecorder) -> int:
    return len(recorder.on("rate_limits", "update"))


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


async def test_a_busy_key_costs_a_write_per_block_not_per_hit(
    app: Starlette, recorder: CommandRecorder
) -> None:
    counters = services(app).stores.rate_limits
    window = hour()
    recorder.clear()
    assert all([await counters.hit("busy", 10_000, window) for _ in range(200)])
    # Blocks of 1, 2, 4, ... 128: eight leases cover 255 hits.
    assert writes(recorder) == 8
    doc = await counters.collection.find_one({"_id": f"busy:{window.start}"})
    assert doc is not None and doc["count"] == 255  # leased, not all used


async def test_a_full_window_refuses_without_writing(
    app: Starlette, recorder: CommandRecorder
) -> None:
    counters = services(app).stores.rate_limits
    window = hour()
    assert [await counters.hit("flood", 3, window) for _ in range(3)] == [True] * 3
    recorder.clear()
    assert not any([await counters.hit("flood", 3, window) for _ in range(50)])
    # The refused block of 1 (the upsert's duplicate key, then the plain update);
    # after that this process knows the window is full.
    assert writes(recorder) == 2


async def test_two_processes_never_admit_more_than_the_limit(app: Starlette) -> None:
    """Two counters on one database, as two workers have: hits spread over both,
    concurrently. Together they admit exactly the limit once both are drained."""
    db = services(app).stores.rate_limits.collection.database
    first, second = RateLimitCounters(db), RateLimitCounters(db)
    limit, window = 64, hour()
    assert max_block(limit) == 4
    admitted = {id(first): 0, id(second): 0}

    async def hit(counters: RateLimitCounters) -> bool:
        allowed = await counters.hit("shared", limit, window)
        admitted[id(counters)] += allowed
        return allowed

    # The first takes most of the window alone.
    while admitted[id(first)] < 60:
        assert await hit(first)
    # Then both at once, until each has been refused.
    results = await asyncio.gather(*(hit(c) for c in [first, second] * 40))
    assert sum(admitted.values()) == limit
    assert results.count(True) == 4
    doc = await first.collection.find_one({"_id": f"shared:{window.start}"})
    assert doc is not None and doc["count"] == limit


async def test_early_refusal_is_bounded_by_a_block(app: Starlette) -> None:
    db = services(app).stores.rate_limits.collection.database
    holder, other = RateLimitCounters(db), RateLimitCounters(db)
    limit, window = 64, hour()
    # The holder leases 1 + 2 + 4 + 4 = 11 and uses 8: 3 unused units in hand.
    assert all([await holder.hit("early", limit, window) for _ in range(8)])
    granted = 0
    while await other.hit("early", limit, window):
        granted += 1
    assert granted == limit - 11
    assert granted >= limit - 8 - (max_block(limit) - 1)
    # The holder's unused units are still its to use; then it is refused too.
    assert [await holder.hit("early", limit, window) for _ in range(4)] == [True] * 3 + [False]


async def test_leases_of_ended_windows_are_forgotten(app: Starlette) -> None:
    """A process holds a lease per key and window; ended windows' leases are
    dropped, so a stream of distinct addresses does not grow memory forever."""
    db = services(app).stores.rate_limits.collection.database
    counters = RateLimitCounters(db)
    for key in ("a", "b"):
        assert await counters.hit(key, 10, hour())
    ended = Window.at(time.time() - 7200, 3600)
    for n in range(5):
        assert await counters.hit(f"old-{n}", 10, ended)
    assert await counters.hit("new", 10, hour())
    assert counters.leases_held == 3  # a, b and new: none of the ended window's
