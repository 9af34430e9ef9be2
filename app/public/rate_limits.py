"""Per-IP and per-token rate limits for the public routes, shared by all workers.

Limits are written as the ``limits`` library parses them ("60/minute;1000/hour");
counting is a fixed window per limit in MongoDB (app/store/rate_limits.py)."""

from __future__ import annotations

import time

from limits import RateLimitItem, parse_many

from app.errors import PlauditError
from app.store.rate_limits import RateLimitCounters, Window


class RateLimited(PlauditError):
    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PublicRateLimits:
    def __init__(self, counters: RateLimitCounters, per_ip: str, per_token: str) -> None:
        self.counters = counters
        self.per_ip: list[RateLimitItem] = parse_many(per_ip)
        self.per_token: list[RateLimitItem] = parse_many(per_token)

    async def hit_ip(self, ip: str) -> None:
        """Count a request from this address; RateLimited when over the limit."""
        await self._hit(self.per_ip, "ip", ip, "too many requests from your address")

    async def hit_token(self, token_id: str) -> None:
        await self._hit(self.per_token, "token", token_id, "too many requests with this token")

    async def _hit(self, items: list[RateLimitItem], kind: str, who: str, message: str) -> None:
        now = time.time()
        for item in items:
            window = Window.at(now, item.get_expiry())
            key = f"public/{kind}/{who}/{item.amount}per{item.get_expiry()}"
            if not await self.counters.hit(key, item.amount, window):
                retry_after = window.retry_after(now)
                raise RateLimited(f"{message}; retry in {retry_after} s", retry_after)
