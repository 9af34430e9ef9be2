"""Rollup updates, batched: the write path adds a delta in memory; a background
task flushes every few hundred milliseconds with one bulk write of ``$inc`` upserts,
so a burst of feedback on one key costs two upserts (its hour and its day) per
flush, not two per feedback. The runs' tallies for worst runs
(app/domain/analytics/tallies.py) ride along: one more bulk write per flush, an
upsert per key, grain, bucket and shard touched; and their days per run
(app/store/run_days.py): one more, an upsert per key and run touched.

What this trades: deltas not yet flushed are lost if the process dies (at most one
flush interval of writes). ``plaudit rollups rebuild`` recomputes rollups from the
raw feedback; statistics read through a process flush its buffer first, so a
process always reads its own writes.

Grouped rollups (app/domain/analytics/group_rollups.py) are batched the same way:
deltas per record attribution in memory, runs looked up and groups placed once per
flush, one update per bucket (key, grouping, hour or day) touched.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime

from app.domain.analytics import windows
from app.domain.analytics.contributions import bucket_time, change_delta, contribution
from app.domain.analytics.group_rollups import (
    Attribution,
    ValueDeltas,
    attribution,
    grouped_values,
    write_values,
)
from app.domain.analytics.rules import KeyRule, KeyRuleCache
from app.domain.analytics.tallies import add_change, run_change
from app.domain.background import BackgroundLoop
from app.domain.feedback_events import FeedbackChanged
from app.store import Stores
from app.store.feedback import Feedback
from app.store.feedback_group_buckets import GroupBucketWriteError
from app.store.feedback_rollups import (
    GRAINS,
    FeedbackRollupStore,
    RollupDelta,
    RollupId,
    RollupWriteError,
)
from app.store.run_days import RunDayId, RunDaysDelta, RunDayWriteError, from_tallies
from app.store.run_tallies import RunTallyStore, TallyDelta, TallyId, TallyWriteError

log = logging.getLogger("plaudit.rollups")


class RollupBuffer:
    """A feedback observer that keeps the rollups (attach it to the app's Stores)."""

    def __init__(
        self, stores: Stores, rollups: FeedbackRollupStore, flush_seconds: float = 0.25
    ) -> None:
        self.stores = stores
        self.rollups = rollups
        self.tallies: RunTallyStore = stores.run_tallies
        self.rules = KeyRuleCache(stores)
        self.flush_seconds = flush_seconds
        self._pending: dict[RollupId, RollupDelta] = {}
        self._tally_pending: dict[TallyId, TallyDelta] = {}
        self._days_pending: dict[RunDayId, RunDaysDelta] = {}
        self._days_keys: set[tuple[str, str]] = set()  # (project, key) with run days
        self._groups: dict[Attribution, RollupDelta] = {}
        # Grouped deltas whose buckets were not written: placed again next flush
        # (a bucket's update is all or nothing, its new slots included).
        self._unwritten: ValueDeltas = {}
        self._lock = asyncio.Lock()
        self.background = BackgroundLoop(
            "rollup-flush",
            self.flush,
            flush_seconds,
            log=log,
            failure="rollup flush failed (will retry)",
            wait_first=True,
        )
        self.flushes = 0

    @property
    def pending(self) -> int:
        """Rollups (hours and days) with changes not yet written."""
        return len(self._pending)

    @property
    def pending_tallies(self) -> int:
        return len(self._tally_pending)

    @property
    def pending_groups(self) -> int:
        """Record attributions and grouped rollups with changes not yet written."""
        return len(self._groups) + len(self._unwritten)

    async def feedback_changed(self, event: FeedbackChanged) -> None:
        record = event.record
        rule = await self.rules.get(record.project_id, record.key)
        before, after = contribution(event.before), contribution(event.after)
        at = bucket_time(record)
        delta = change_delta(rule, before, after)
        if delta is not None:
            self.add(record.project_id, record.key, at, delta)
        change = run_change(rule, before, after, at)
        if change is not None:
            tallies: dict[TallyId, TallyDelta] = {}
            add_change(tallies, record.project_id, record.key, record.run_id, at, change)
            self._put_back_tallies(tallies)
            self._put_back_days(from_tallies(tallies))
        old = attribution(event.before) if event.before is not None else None
        new = attribution(event.after) if event.after is not None else None
        if old == new:
            if delta is not None and new is not None:
                self._add_group(new, delta)
            return
        # The record's groups changed: its old contribution out, the new one in.
        self._move(rule, event.before, event.after)

    async def feedback_attached(self, records: list[Feedback]) -> None:
        """Pending records whose runs arrived: they move from "no run" (how they
        were counted) to their run's groups."""
        for record in records:
            rule = await self.rules.get(record.project_id, record.key)
            self._move(rule, replace(record, pending=True), replace(record, pending=False))

    def _move(self, rule: KeyRule, before: Feedback | None, after: Feedback | None) -> None:
        for record, sign in ((before, -1), (after, 1)):
            if record is None:
                continue
            part = contribution(record)
            delta = change_delta(rule, part, None) if sign < 0 else change_delta(rule, None, part)
            if delta is not None:
                self._add_group(attribution(record), delta)

    def _add_group(self, at: Attribution, delta: RollupDelta) -> None:
        self._groups.setdefault(at, RollupDelta()).merge(delta)

    def add(self, project_id: str, key: str, at: datetime, delta: RollupDelta) -> None:
        for grain in GRAINS:
            rid = RollupId(project_id, key, grain, windows.floor(at, grain))
            self._pending.setdefault(rid, RollupDelta()).merge(delta)

    def _put_back(self, deltas: dict[RollupId, RollupDelta]) -> None:
        for rid, delta in deltas.items():
            self._pending.setdefault(rid, RollupDelta()).merge(delta)

    def _put_back_tallies(self, deltas: dict[TallyId, TallyDelta]) -> None:
        for tid, delta in deltas.items():
            self._tally_pending.setdefault(tid, TallyDelta()).merge(delta)

    def _put_back_days(self, deltas: dict[RunDayId, RunDaysDelta]) -> None:
        for rid, delta in deltas.items():
            self._days_pending.setdefault(rid, RunDaysDelta()).merge(delta)

    async def flush(self) -> None:
        """Write the pending deltas. On failure they go back into the buffer (only
        the failed ones, when the server says which) and the error is raised."""
        async with self._lock:
            if not (
                self._pending
                or self._tally_pending
                or self._days_pending
                or self._groups
                or self._unwritten
            ):
                return
            await self._flush_rollups()
            await self._flush_runs()
            await self._flush_groups()
            self.flushes += 1

    async def _flush_rollups(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            await self.rollups.apply(batch)
        except RollupWriteError as exc:
            for rid, parts in exc.failed.items():
                for part in parts:
                    self._put_back({rid: batch[rid].part(part)})
            raise
        except BaseException:
            self._put_back(batch)
            raise

    async def _flush_runs(self) -> None:
        """The run tallies, then the run days of the same records (one snapshot:
        whether a key's run days count it from its first score is decided before
        its first tallies are written)."""
        tallies, self._tally_pending = self._tally_pending, {}
        days, self._days_pending = self._days_pending, {}
        try:
            fresh = await self._fresh_keys(days)
        except BaseException:
            self._put_back_tallies(tallies)
            self._put_back_days(days)
            raise
        try:
            await self._flush_tallies(tallies)
        except BaseException:
            self._put_back_days(days)
            raise
        await self._flush_days(days, fresh)

    async def _flush_tallies(self, tallies: dict[TallyId, TallyDelta]) -> None:
        if not tallies:
            return
        try:
            await self.tallies.apply(tallies)
        except TallyWriteError as exc:
            self._put_back_tallies({tid: tallies[tid] for tid in exc.failed})
            raise
        except BaseException:
            self._put_back_tallies(tallies)
            raise

    async def _fresh_keys(self, days: dict[RunDayId, RunDaysDelta]) -> set[tuple[str, str]]:
        """Of the keys about to get their first run days, those with no run tallies
        yet (their run days count every score)."""
        new = {(rid.project_id, rid.key) for rid in days} - self._days_keys
        self._days_keys |= await self.stores.run_days.known(new)
        return {
            (project_id, key)
            for project_id, key in new - self._days_keys
            if not await self.tallies.has_key(project_id, key)
        }

    async def _flush_days(
        self, days: dict[RunDayId, RunDaysDelta], fresh: set[tuple[str, str]]
    ) -> None:
        if not days:
            return
        try:
            await self.stores.run_days.apply(days, fresh)
            self._days_keys |= {(rid.project_id, rid.key) for rid in days}
        except RunDayWriteError as exc:
            self._put_back_days({rid: days[rid] for rid in exc.failed if rid in days})
            raise
        except BaseException:
            self._put_back_days(days)
            raise

    async def _flush_groups(self) -> None:
        if not self._groups and not self._unwritten:
            return
        batch, self._groups = self._groups, {}
        try:
            values = await grouped_values(self.stores, batch)
        except BaseException:
            for at, delta in batch.items():
                self._add_group(at, delta)
            raise
        for sid_value, delta in self._unwritten.items():
            values.setdefault(sid_value, RollupDelta()).merge(delta)
        self._unwritten = {}
        try:
            await write_values(self.stores, values)
        except GroupBucketWriteError as exc:
            self._unwritten = {k: d for k, d in values.items() if k[0] in exc.failed}
            raise
        except BaseException:
            self._unwritten = values
            raise

    def start(self) -> None:
        self.background.start()

    async def stop(self) -> None:
        await self.background.stop()
        try:
            await self.flush()
        except Exception as exc:
            log.error("final rollup flush failed; run `plaudit rollups rebuild`: %s", exc)
