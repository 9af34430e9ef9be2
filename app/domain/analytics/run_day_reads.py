"""Worst runs over a long window without reading every run in it: the runs' day
tallies (app/store/run_days.py), walked by their lifetime number of negative
scores.

The window is split as for the run tallies (:func:`tally_reads.pieces`). Its edges
(partial hours, whole hours, days before a retention horizon) are read as there,
for every run. Its whole days are read per run: each key's runs are walked by
their lifetime count on the key's negative side, then their newest feedback,
then run id (an index each), in growing batches; a run seen is counted exactly
(its days in the window, plus its edges). The walk stops once the ``first``-th
best run counted so far ranks ahead of anything a run not yet seen could reach:
a run's negatives in a window never exceed its lifetime count, nor is its newest
feedback there newer than its lifetime newest. With several keys the bound is the
sum of the keys' next counts. With one key, runs with negatives at the edges are
counted from the edges alone (their whole days hold none, or they are bounded like
the rest) and read exactly if they make the list; with several, they are read
exactly first.

Used only when the keys' run days are complete and were all counted against the
key's current threshold: otherwise this returns None and the caller reads the run
tallies, which recount (a moved threshold starts a rebuild of the key's tallies
and run days in the background, app/domain/analytics/recounts.py). A run whose newest times a
removal left stale (``dirty``) is counted from its raw feedback (and its times
stored). Short windows read their few tally documents instead (``MIN_DAYS``).
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
from app.store.run_days import RunDays, RunDayWalk, day_field

# Windows whose whole days span fewer days read the run tallies (a few hundred
# documents at most).
MIN_DAYS = 3
FIRST_BATCH = 100
MAX_BATCH = 2000

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
        self.walks: dict[str, RunDayWalk] = {}
        self.frontier: dict[str, tuple[int, datetime | None, str]] = {}

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

    def settled(self, top: list[tuple[str, _Sums]]) -> bool:
        """Whether no run not seen yet can rank ahead of the ``first``-th."""
        open_walks = [k for k, w in self.walks.items() if not w.done]
        if not open_walks:
            return True
        if len(top) < self.first:
            return False
        worst = _rank(*top[-1])
        if len(self.walks) == 1:
            count, last, run_id = self.frontier[open_walks[0]]
            return worst <= (-count, -_time(last), run_id)
        bound = sum(self.frontier[k][0] for k in open_walks)
        newest = max(_time(self.frontier[k][1]) for k in open_walks)
        return worst[:2] < (-bound, -newest)

    async def walk(self) -> None:
        if len(self.rules) > 1:
            # A run known from its edges alone could have negatives on another key's
            # days beyond that key's bound: count them all first (few: the edges'
            # runs with negatives).
            edge_runs = [run_id for run_id in self.found if run_id not in self.exact]
            await self.count(
                await self.stores.run_days.of_runs(self.project_id, list(self.rules), edge_runs),
                edge_runs,
            )
        for key, rule in self.rules.items():
            side = "lo" if rule.higher_is_better else "hi"
            self.walks[key] = self.stores.run_days.walk(
                self.project_id, key, side, self.start, self.end, MAX_BATCH
            )
        batch = FIRST_BATCH
        try:
            while True:
                seen: dict[str, list[RunDays]] = {}
                for key, walk in self.walks.items():
                    if walk.done:
                        continue
                    docs = await walk.next(batch)
                    for doc in docs:
                        count = doc.low if self.rules[key].higher_is_better else doc.high
                        self.frontier[key] = (count, doc.last, doc.id.run_id)
                        if doc.id.run_id not in self.exact:
                            seen.setdefault(doc.id.run_id, []).append(doc)
                    if not docs:
                        self.frontier[key] = (0, None, "")
                if seen:
                    await self.count(await self._all_keys(seen), seen)
                if self.settled(self.top()):
                    return
                batch = min(batch * 2, MAX_BATCH)
        finally:
            await asyncio.gather(*(w.close() for w in self.walks.values()))

    async def _all_keys(self, seen: dict[str, list[RunDays]]) -> list[RunDays]:
        if len(self.rules) == 1:
            return [doc for docs in seen.values() for doc in docs]
        return await self.stores.run_days.of_runs(self.project_id, list(self.rules), list(seen))

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
    names = list(keys) if keys is not None else sorted(rules)
    if not names:
        return None
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
