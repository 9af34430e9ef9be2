"""A rule's call limits, counted in MongoDB so every process shares them: calls per
minute, and a daily budget of calls and of tokens (UTC days). The counters are the
public rate limits' (app/store/rate_limits.py): fixed windows aligned to the epoch,
never more than the limit handed out across processes.

Before each scorer call the worker asks :func:`take_call`:

- over the minute's calls: ``defer`` until the minute ends (the evaluation waits,
  it is not skipped);
- over the day's calls, or the day's tokens already spent: ``budget`` (the
  evaluation is skipped and counted as such, and so is every queued evaluation of
  the rule that comes due while the budget is spent).

Tokens are known only after a call (``usage.total_tokens`` when the endpoint
reports it), so the token budget can be overshot by the calls in flight when it
runs out.

Concurrency (how many of a rule's evaluations run at once, in all processes) is
counted from the evaluations' leases instead (app/store/evaluations.py ``running``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app import clock
from app.domain.evaluation.definition import Limits
from app.store.rate_limits import RateLimitCounters, Window

MINUTE = 60
DAY = 86_400


@dataclass(frozen=True)
class Verdict:
    kind: str  # go | defer | budget
    until: datetime | None = None  # defer: when the next window starts
    reason: str | None = None


GO = Verdict("go")


def _key(rule_id: str, what: str) -> str:
    return f"evaluation:{rule_id}:{what}"


async def take_call(counters: RateLimitCounters, rule_id: str, limits: Limits) -> Verdict:
    now = clock.epoch_seconds()
    if limits.calls_per_minute is not None:
        minute = Window.at(now, MINUTE)
        if not await counters.hit(_key(rule_id, "minute"), limits.calls_per_minute, minute):
            return Verdict("defer", until=datetime.fromtimestamp(minute.end, UTC))
    day = Window.at(now, DAY)
    if limits.daily_calls is not None and not await counters.hit(
        _key(rule_id, "calls"), limits.daily_calls, day
    ):
        return Verdict("budget", reason=f"the daily budget of {limits.daily_calls} calls is spent")
    if limits.daily_tokens is not None:
        spent = await counters.total(_key(rule_id, "tokens"), day)
        if spent >= limits.daily_tokens:
            return Verdict(
                "budget", reason=f"the daily budget of {limits.daily_tokens} tokens is spent"
            )
    return GO


async def spend_tokens(counters: RateLimitCounters, rule_id: str, tokens: int) -> None:
    if tokens > 0:
        await counters.add(_key(rule_id, "tokens"), Window.at(clock.epoch_seconds(), DAY), tokens)


async def tokens_today(counters: RateLimitCounters, rule_id: str) -> int:
    return await counters.total(_key(rule_id, "tokens"), Window.at(clock.epoch_seconds(), DAY))
