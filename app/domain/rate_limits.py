"""Per-IP and per-token rate limits for the public routes, shared by all workers.

Limits are written as the ``limits`` library parses them ("60/minute;1000/hour"),
each counted in fixed windows aligned to the clock (app/store/rate_limits.py):

- per address: counters in MongoDB, which each process leases in blocks;
- per token, through a token without a use limit (the widget's): counted inside
  the feedback record the token writes (a ``Quota``), by the write that changes
  it. A widget post is then one write, plus an address counter when the address's
  block is used up;
- per token otherwise (a token with a use limit, which is written anyway; a
  signal, which writes no feedback): counters, as per address.
"""

from __future__ import annotations

from limits import RateLimitItem, parse_many

from app import clock
from app.errors import RateLimited
from app.store.rate_limits import Quota, RateLimitCounters, Window, slot


class PublicRateLimits:
    def __init__(self, counters: RateLimitCounters, per_ip: str, per_token: str) -> None:
        self.counters = counters
        self.per_ip: list[RateLimitItem] = parse_many(per_ip)
        self.per_token: list[RateLimitItem] = parse_many(per_token)

    async def hit_ip(self, ip: str) -> None:
        """Count a request from this address; RateLimited when over the limit."""
        await self._hit(self.per_ip, "ip", ip, "too many requests from your address")

    async def hit_token(self, token_id: str) -> None:
        """Count a request with this token in a counter (see the module's text)."""
        await self._hit(self.per_token, "token", token_id, "too many requests with this token")

    async def _hit(self, items: list[RateLimitItem], kind: str, who: str, message: str) -> None:
        now = clock.epoch_seconds()
        for limit, window in _windows(items, now):
            key = f"public/{kind}/{who}/{slot(limit, window)}"
            if not await self.counters.hit(key, limit, window):
                retry_after = window.retry_after(now)
                raise RateLimited(f"{message}; retry in {retry_after} s", retry_after)

    def token_quota(self) -> Quota:
        """The per-token limit for a submission now, for ``submit_feedback``."""
        now = clock.epoch_seconds()
        return Quota(_windows(self.per_token, now), "too many requests with this token", now)


def _windows(items: list[RateLimitItem], now: float) -> tuple[tuple[int, Window], ...]:
    """Each limit with the window ``now`` falls in."""
    return tuple((item.amount, Window.at(now, item.get_expiry())) for item in items)
