"""Reading worst runs from the runs' tallies (app/store/run_tallies.py).

A window ``[since, until)`` is split like a statistics window
(:func:`app.domain.analytics.rollup_reads.plan`): whole days from day tallies,
whole hours from hour tallies, the partial hours at either end from the raw
feedback. Days before a project's retention horizon are read raw too: the sweep
removes records there without subtracting them from the tallies, so the raw
feedback is the truth, as it was for the aggregation this replaces. A 30-day
ranking reads about 30 x 8 tally documents however many records those
days hold, and the numbers are identical to an aggregation over the feedback.

Two kinds of tally are recounted from the raw feedback of their bucket when read:

- counted against another threshold than the key's current one (the key was
  registered or re-ranged, or an unregistered key stopped looking boolean): its
  high and low sides no longer say positive and negative. Registering a key
  starts a rebuild of its tallies in the background (app/domain/feedback_keys.py);
  until it is done, reads recount the buckets they touch.
- ``dirty``: a score was removed, so a run's newest feedback time may be older
  now. The recounted times are stored (unless the tally changed meanwhile).

The direction (``higher_is_better``) is applied when reading: changing it needs
no recount.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain.analytics import windows
from app.domain.analytics.rollup_reads import Piece, plan
from app.domain.analytics.rules import UNSEEN_THRESHOLD, KeyRule, thresholds
from app.store import Stores
from app.store.feedback_analytics import RunTally, StatsFilter
from app.store.run_tallies import Tally, shard_of

NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class RunTotal:
    negative: int
    positive: int
    scored: int
    last: datetime


# Per run while counting: [negative, positive, scored, last].
_Sums = list[Any]


def pieces(since: datetime | None, until: datetime | None, horizon: datetime | None) -> list[Piece]:
    """The pieces of ``[since, until)``: raw before ``horizon`` (None: no retention
    period), then as :func:`plan` splits the rest."""
    out: list[Piece] = []
    if horizon is not None and (since is None or since < horizon):
        raw_until = horizon if until is None else min(horizon, until)
        out.append(Piece("raw", since, raw_until))
        since = horizon
        if until is not None and since >= until:
            return out
    return out + plan(since, until, hourly=False)


class _Reader:
    def __init__(
        self, stores: Stores, project_id: str, keys: list[str] | None, rules: dict[str, KeyRule]
    ) -> None:
        self.stores = stores
        self.project_id = project_id
        self.keys = keys
        self.rules = rules
        self.sums: dict[str, _Sums] = {}

    def rule(self, key: str) -> KeyRule:
        rule = self.rules.get(key)
        return rule if rule is not None else KeyRule.of(key, None)

    async def raw(
        self, keys: list[str] | None, since: datetime | None, until: datetime | None
    ) -> list[RunTally]:
        return await self.stores.feedback_analytics.run_tallies(
            self.project_id,
            StatsFilter(keys=keys, since=since, until=until),
            thresholds(self.rules),
            {k: r.higher_is_better for k, r in self.rules.items()},
            None,
            default_threshold=UNSEEN_THRESHOLD,
        )

    def add_raw(self, rows: list[RunTally]) -> None:
        for row in rows:
            self._add(row.run_id, row.negative, row.positive, row.scored, row.last_at)

    def _add(
        self, run_id: str, negative: int, positive: int, scored: int, last: datetime | None
    ) -> None:
        sums = self.sums.get(run_id)
        if sums is None:
            self.sums[run_id] = [negative, positive, scored, last or NEVER]
            return
        sums[0] += negative
        sums[1] += positive
        sums[2] += scored
        if last is not None and last > sums[3]:
            sums[3] = last

    def add_tally(self, tally: Tally, rule: KeyRule) -> None:
        add = self._add
        if rule.higher_is_better:
            for run_id, (high, low, scored, last) in tally.runs.items():
                add(run_id, low, high, scored, last)
        else:
            for run_id, (high, low, scored, last) in tally.runs.items():
                add(run_id, high, low, scored, last)

    async def read(self, piece: Piece) -> None:
        if piece.source == "raw":
            self.add_raw(await self.raw(self.keys, piece.since, piece.until))
            return
        tallies = await self.stores.run_tallies.fetch(
            self.project_id, self.keys, piece.source, piece.since, piece.until
        )
        recount: dict[tuple[str, str, datetime], list[Tally]] = {}
        for tally in tallies:
            rule = self.rule(tally.id.key)
            if tally.dirty or (tally.rules and tally.rules != [rule.rule_id]):
                recount.setdefault((tally.id.key, tally.id.grain, tally.id.start), []).append(tally)
            else:
                self.add_tally(tally, rule)
        await asyncio.gather(*(self.recount(*bucket, found) for bucket, found in recount.items()))

    async def recount(self, key: str, grain: str, start: datetime, tallies: list[Tally]) -> None:
        """Count these tallies of one bucket from its raw feedback instead; store the
        newest times of those whose threshold still holds."""
        rows = await self.raw([key], start, start + windows.STEP[grain])
        by_shard: dict[int, list[RunTally]] = {}
        for row in rows:
            by_shard.setdefault(shard_of(row.run_id, grain), []).append(row)
        rule_id = self.rule(key).rule_id
        for tally in tallies:
            counted = by_shard.get(tally.id.shard, [])
            self.add_raw(counted)
            if tally.dirty and (not tally.rules or tally.rules == [rule_id]):
                last: dict[str, datetime | None] = dict.fromkeys(tally.runs)
                last.update({row.run_id: row.last_at for row in counted})
                await self.stores.run_tallies.save_times(tally, last)


async def negative_runs(
    stores: Stores,
    project_id: str,
    keys: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    rules: dict[str, KeyRule],
    horizon: datetime | None,
) -> dict[str, RunTotal]:
    """Every run with a negative score in the window, with its numbers there
    (``horizon``: the project's retention horizon)."""
    reader = _Reader(stores, project_id, keys, rules)
    for piece in pieces(since, until, horizon):
        await reader.read(piece)
    return {run_id: RunTotal(*sums) for run_id, sums in reader.sums.items() if sums[0] > 0}
