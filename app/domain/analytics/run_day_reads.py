"""Worst runs over a long window without reading every run in it: the runs' day
tallies (app/store/run_days.py), read by their lifetime number of negative scores.

The window is split as for the run tallies (:func:`tally_reads.pieces`). Its edges
(partial hours, whole hours, days before a retention horizon) are read as there,
for every run. Its whole days are read per run, most negatives first: the key's
runs with feedback since the window's start (by their newest) one lifetime count
at a time (the largest left, found with a few indexed probes), each run counted
exactly (its days in the window, plus its edges). A run's negatives in a
window never exceed its lifetime count, so once the ``first``-th best run counted
has more negatives than the largest lifetime count not read yet, no run left can
rank ahead of it, nor tie with it (a tie goes to the newest feedback, then the
run id). Runs with negatives at the edges are counted
from the edges alone until read: those that make the list have none in its whole
days (or they would have been read first). Counts are read whole and unsorted:
the embedded store sorts in memory whatever a query matches. One key only: with
several, each run read would need its other keys read too.

Used only when the keys' run days are complete and were all counted against the
key's current threshold: otherwise this returns None and the caller reads the run
tallies, which recount (a moved threshold starts a rebuild of the key's tallies
and run days in the background, app/domain/analytics/recounts.py). A run whose
newest times a removal left stale (``dirty``) is counted from its raw feedback
(and its times stored). Short windows read their few tally documents instead
(``MIN_DAYS``).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from app import clock
from app.domain.analytics.rules import KeyRule
from app.domain.analytics.tally_reads import NEVER, RunTotal, _Reader, pieces
from app.store import Stores
from app.store.feedback_analytics import ScoreRow
from app.store.run_days import RunDays, day_field

# Windows whose whole days span fewer days read the run tallies (a few hundred
# documents at most).
MIN_DAYS = 3
UNBOUNDED = 1 << 62

Rank = tuple[int, float, str]
_Sums = list[Any]  # [negative, positive, scored, last]


def _time(at: datetime | None) -> float:
    return at.timestamp() if at is not None and at > NEVER else float("-inf")


def _rank(run_id: str, sums: _Sums) -> Rank:
    return (-sums[0], -_time(sums[3]), run_id)


def _add(sums: _Sums, negative: int, positive: int, scored: int, last: datetime | None) -> None:
    sums[0] += negative
    sums[1] += positive
    sums[2] += scored
    if last is not None and last > sums[3]:
        sums[3] = last


class _Ranking:
    def __init__(
        self,
        stores: Stores,
        project_id: str,
        rules: dict[str, KeyRule],
        edges: dict[str, _Sums],
        start: datetime | None,
        end: datetime | None,
        first: int,
    ) -> None:
        self.stores = stores
        self.project_id = project_id
        self.rules = rules  # the keys ranked
        self.edges = edges
        self.start, self.end = start, end
        self.low = day_field(start) if start is not None else None
        self.high = day_field(end) if end is not None else None
        self.first = first
        # Runs with negatives: counted exactly, or (not in ``exact``) from edges alone.
        self.found: dict[str, _Sums] = {
            run_id: list(sums) for run_id, sums in edges.items() if sums[0] > 0
        }
        self.exact: set[str] = set()
        self.stopped_early = False  # some runs with negatives were never read

    def _in_window(self, day: str) -> bool:
        return (self.low is None or day >= self.low) and (self.high is None or day < self.high)

    def _days(self, doc: RunDays) -> tuple[int, int, int, datetime | None]:
        high = low = scored = 0
        last: datetime | None = None
        for day, (h, lo, n, at) in doc.days.items():
            if self._in_window(day):
                high, low, scored = high + h, low + lo, scored + n
                if at is not None and (last is None or at > last):
                    last = at
        negative, positive = self.rules[doc.id.key].positive_negative(low, high)
        return negative, positive, scored, last

    def _raw(self, rule: KeyRule, rows: list[ScoreRow]) -> tuple[int, int, int, datetime | None]:
        high = low = scored = 0
        last: datetime | None = None
        for row in rows:
            at = row.created_at
            if (self.start is not None and at < self.start) or (
                self.end is not None and at >= self.end
            ):
                continue
            above, below = rule.sides(row.score) if row.score is not None else (0, 0)
            high, low, scored = high + above, low + below, scored + 1
            last = at if last is None or at > last else last
        negative, positive = rule.positive_negative(low, high)
        return negative, positive, scored, last

    async def count(self, docs: list[RunDays], runs: Iterable[str]) -> None:
        """Count ``runs`` exactly from ``docs`` (all their documents on the keys)."""
        dirty = [d for d in docs if d.dirty]
        rows: dict[tuple[str, str], list[ScoreRow]] = {}
        if dirty:
            found = await self.stores.feedback_analytics.scores_of_runs(
                self.project_id,
                sorted({d.id.key for d in dirty}),
                sorted({d.id.run_id for d in dirty}),
            )
            for row in found:
                rows.setdefault((row.run_id, row.key), []).append(row)
            await asyncio.gather(
                *(self._save_times(d, rows.get((d.id.run_id, d.id.key), [])) for d in dirty)
            )
        sums: dict[str, _Sums] = {run_id: [0, 0, 0, NEVER] for run_id in runs}
        for doc in docs:
            rule = self.rules[doc.id.key]
            if doc.dirty:
                part = self._raw(rule, rows.get((doc.id.run_id, doc.id.key), []))
            else:
                part = self._days(doc)
            _add(sums[doc.id.run_id], *part)
        for run_id, total in sums.items():
            edge = self.edges.get(run_id)
            if edge is not None:
                _add(total, *edge)
            self.exact.add(run_id)
            if total[0] > 0:
                self.found[run_id] = total
            else:
                self.found.pop(run_id, None)

    async def _save_times(self, doc: RunDays, rows: list[ScoreRow]) -> None:
        at: dict[str, datetime] = {}
        for row in rows:
            day = day_field(row.created_at)
            if day not in at or row.created_at > at[day]:
                at[day] = row.created_at
        await self.stores.run_days.save_times(doc, at)

    def top(self) -> list[tuple[str, _Sums]]:
        return heapq.nsmallest(
            self.first, self.found.items(), key=lambda item: _rank(item[0], item[1])
        )

    def settled(self, bound: int) -> bool:
        """Whether no run not read yet (at most ``bound`` negatives) can rank ahead
        of the ``first``-th."""
        if bound == 0:
            return True
        top = self.top()
        return len(top) >= self.first and top[-1][1][0] > bound

    def _side(self, key: str) -> str:
        return "lo" if self.rules[key].higher_is_better else "hi"

    async def _next_count(self, key: str, below: int | None) -> int:
        """The largest lifetime negative count under ``below`` (None: any) of the
        key's runs (in the window or not: a probe has one condition); 0: none.
        A probe matching many runs costs as much as reading them: count 1 is
        never probed (1 is returned as a bound)."""

        async def exists(low: int, high: int) -> bool:
            return await self.stores.run_days.any_between(
                self.project_id, key, self._side(key), low, high
            )

        if below is None:
            # Halving from above: the first hit matches only the runs with the most.
            power = 6
            while await exists(1 << power, UNBOUNDED):
                power += 1
            while power > 1 and not await exists(1 << (power - 1), UNBOUNDED):
                power -= 1
            if power == 1:
                return 1  # a bound: count 1 is read (empty or not) without a probe
            low, high, ceiling = 1 << (power - 1), 1 << power, UNBOUNDED
        else:
            if below <= 2:
                return below - 1
            step = 1
            while True:
                low = max(2, below - step)
                if await exists(low, below):
                    break
                if low == 2:
                    return 1
                step *= 2
            high = ceiling = below
        while high - low > 1:  # exists(low, ceiling); nothing from high on
            middle = (low + high) // 2
            if await exists(middle, ceiling):
                low = middle
            else:
                high = middle
        return low

    async def walk(self) -> None:
        (key,) = self.rules
        unread = await self._next_count(key, None)  # the largest count not read yet
        while not self.settled(unread):
            docs = await self.stores.run_days.tier(
                self.project_id, key, self._side(key), unread, self.start
            )
            runs = {d.id.run_id for d in docs} - self.exact
            await self.count([d for d in docs if d.id.run_id in runs], runs)
            # After a count with runs, the next is read without probing (a bound
            # need not be reached); after an empty one, probes skip the gap.
            unread = unread - 1 if docs else await self._next_count(key, unread)
        self.stopped_early = unread > 0

    async def resolve(self) -> list[tuple[str, _Sums]]:
        """The top runs, each counted exactly (those known from edges alone are read:
        their days can only add)."""
        while True:
            top = self.top()
            pending = [run_id for run_id, _ in top if run_id not in self.exact]
            if not pending:
                return top
            docs = await self.stores.run_days.of_runs(self.project_id, list(self.rules), pending)
            await self.count(docs, pending)


async def ranked_by_run_days(
    stores: Stores,
    project_id: str,
    keys: list[str] | None,
    rules: dict[str, KeyRule],
    since: datetime | None,
    until: datetime | None,
    horizon: datetime | None,
    first: int,
) -> list[tuple[str, RunTotal]] | None:
    """The ``first`` worst runs of the window, or None: read the run tallies."""
    split = pieces(since, until, horizon)
    days = [p for p in split if p.source == "day"]
    if len(days) != 1:
        return None
    start, end = days[0].since, days[0].until
    if start is not None and (end or clock.now()) - start < timedelta(days=MIN_DAYS):
        return None
    if keys is None or len(keys) != 1:
        # Several keys would need each run's other keys read for every run read
        # (an $in per key: slower than the tallies on the embedded store).
        return None
    names = list(keys)
    ranked = {k: rules.get(k) or KeyRule.of(k, None) for k in names}
    counted = await stores.run_days.states(project_id, names)
    for key, rule in ranked.items():
        state = counted.get(key)
        if state is None or not state.complete or set(state.rules) - {rule.rule_id}:
            return None
    edges = _Reader(stores, project_id, keys, rules)
    for piece in split:
        if piece.source != "day":
            await edges.read(piece)
    ranking = _Ranking(stores, project_id, ranked, edges.sums, start, end, first)
    await ranking.walk()
    return [(run_id, RunTotal(*sums)) for run_id, sums in await ranking.resolve()]
