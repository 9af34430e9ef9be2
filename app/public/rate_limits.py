"""Per-IP and per-token rate limits for the public routes, shared by all workers.

Counters live in MongoDB (app/store/rate_limits.py) and follow the ``limits``
library's fixed-window strategy."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import FixedWindowRateLimiter

from app.errors import PlauditError
from app.store.rate_limits import MongoRateLimitStorage


class RateLimited(PlauditError):
    code = "RATE_LIMITED"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PublicRateLimits:
    def __init__(self, storage: MongoRateLimitStorage, per_ip: str, per_token: str) -> None:
        self.limiter = FixedWindowRateLimiter(storage)
        self.per_ip: list[RateLimitItem] = parse_many(per_ip)
        self.per_token: list[RateLimitItem] = parse_many(per_token)

    async def hit_ip(self, ip: str) -> None:
        """Count a request from this address; RateLimited when over the limit."""
        await self._hit(self.per_ip, "ip", ip, "too many requests from your address")

    async def hit_token(self, token_id: str) -> None:
        await self._hit(self.per_token, "token", token_id, "too many requests with this token")

    async def _hit(self, items: list[RateLimitItem], kind: str, who: str, message: str) -> None:
        for item in items:
            if not await self.limiter.hit(item, "public", kind, who):
                stats = await self.limiter.get_window_stats(item, "public", kind, who)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise RateLimited(f"{message}; retry in {retry_after} s", retry_after)
