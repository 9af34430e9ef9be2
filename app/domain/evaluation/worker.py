"""Every app process's evaluation worker: it takes queued evaluations under leases
and scores them.

On every step (woken when this process queues evaluations, else every
``poll_seconds``) the worker reads the active rules, then takes due evaluations of
those rules (app/store/evaluations.py ``claim``: pending ones, and ones whose
worker's lease ran out because its process died), up to ``concurrency`` at once in
this process. Several processes share the queue; an evaluation is held by one of
them at a time. A stopped process hands its evaluations back at once.

For each evaluation:

1. An evaluation of an older version of its rule is skipped (``superseded``); a
   rule over its concurrency (evaluations under live leases, in every process) is
   left for later.
2. If the run already carries this rule version's score (a process died between
   storing the score and recording it), the evaluation is done without scoring
   again: nothing is scored twice.
3. The rule's limits are asked (app/domain/evaluation/limits.py): over the
   minute's calls it waits for the next minute; over the daily budget it is
   skipped (``budget``), as is every due evaluation of the rule.
4. The scorer scores; the score is stored as feedback by user ``rule:<id>``; the
   evaluation is done. A run a check cannot judge (no latency recorded, no such
   field) is skipped (``not_applicable``). A failure is retried after
   ``retry_base_seconds * 2**(attempt-1)`` (with jitter, at most an hour) until the
   rule's ``max_attempts``, then recorded as failed with its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from app import clock
from app.domain.autofeedback.jobs import new_owner
from app.domain.autofeedback.llm import LLMClient
from app.domain.background import BackgroundLoop, cancel_and_wait
from app.domain.evaluation.build import build_scorer
from app.domain.evaluation.checks import NotApplicable
from app.domain.evaluation.limits import spend_tokens, take_call
from app.domain.evaluation.queue import ActiveRule
from app.domain.evaluation.scorers import Outcome, Scorer, ScoringFailed, Writer, numeric
from app.domain.feedback import Change
from app.errors import PlauditError
from app.store import Stores
from app.store.errors import DatabaseError
from app.store.evaluations import Evaluation
from app.store.runs import Run

log = logging.getLogger("plaudit.evaluation")

MAX_RETRY_SECONDS = 3600.0
USER_AGENT = "Plaudit-Evaluations/1"


@dataclass(frozen=True)
class WorkerConfig:
    concurrency: int = 8
    poll_seconds: float = 1.0
    lease_seconds: float = 360.0
    retry_base_seconds: float = 30.0
    # How long a built scorer (its example pool, for the predictors) is reused.
    scorer_seconds: float = 300.0
    allow_private_networks: bool = False


def reviewer(rule_id: str) -> str:
    """The user every score of a rule is recorded as."""
    return f"rule:{rule_id}"


def retry_delay(base: float, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    return min(MAX_RETRY_SECONDS, base * 2.0 ** (attempts - 1)) * random.uniform(0.8, 1.0)


class EvaluationWorker:
    def __init__(
        self,
        stores: Stores,
        config: WorkerConfig,
        llm: Callable[[], LLMClient],
        llm_model: str | None,
    ) -> None:
        self.stores = stores
        self.config = config
        self.llm = llm
        self.llm_model = llm_model
        self.owner = new_owner()
        self.background = BackgroundLoop(
            "evaluation-worker",
            self._step,
            config.poll_seconds,
            log=log,
            failure="online evaluation: cannot take evaluations now",
        )
        self._inflight: dict[asyncio.Task[None], str] = {}  # task -> rule id
        self._blocked_until: dict[str, datetime] = {}  # rule id -> end of its minute
        self._scorers: dict[tuple[str, int], tuple[float, Scorer]] = {}
        self._building: dict[tuple[str, int], asyncio.Lock] = {}
        self._http: httpx.AsyncClient | None = None
        # The active rules, read at most every poll interval (not on every wake).
        self._rules: dict[str, ActiveRule] = {}
        self._rules_read = -math.inf
        self._turn = 0
        # Evaluations this process finished (any outcome), and steps taken: for tests
        # and benchmarks to wait on.
        self.finished = 0
        self.steps = 0

    # --- lifecycle ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.background.running

    def start(self) -> None:
        if not self.background.running:
            self._http = httpx.AsyncClient(
                follow_redirects=False, headers={"User-Agent": USER_AGENT}
            )
            self.background.start()

    def wake(self) -> None:
        self.background.wake()

    async def stop(self) -> None:
        """Stop taking evaluations; those in flight are handed back, due now."""
        await self.background.stop()
        await cancel_and_wait(self._inflight)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def idle(self) -> None:
        """Wait until nothing is in flight in this process."""
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    # --- taking evaluations ---------------------------------------------------------

    def _local(self, rule_id: str) -> int:
        return sum(1 for r in self._inflight.values() if r == rule_id)

    async def _step(self) -> None:
        try:
            await self._take()
        finally:
            self.steps += 1

    def forget_rules(self) -> None:
        """Read the active rules again on the next step (one changed in this process)."""
        self._rules_read = -math.inf

    async def _active_rules(self) -> dict[str, ActiveRule]:
        if time.monotonic() - self._rules_read >= self.config.poll_seconds:
            records = await self.stores.evaluation_rules.active()
            self._rules = {r.id: ActiveRule.of(r) for r in records}
            self._rules_read = time.monotonic()
        return self._rules

    async def _take(self) -> None:
        rules = await self._active_rules()
        now = clock.now()
        eligible = []
        for candidate in rules.values():
            blocked = self._blocked_until.get(candidate.id)
            if blocked is not None and blocked > now:
                continue
            limit = candidate.definition.limits.concurrency
            if limit is not None and self._local(candidate.id) >= limit:
                continue
            eligible.append(candidate.id)
        # Rules take turns being looked at first, so a long queue does not starve others.
        if eligible:
            self._turn = (self._turn + 1) % len(eligible)
            eligible = eligible[self._turn :] + eligible[: self._turn]
        while eligible and len(self._inflight) < self.config.concurrency:
            now = clock.now()
            until = now + timedelta(seconds=self.config.lease_seconds)
            evaluation = await self.stores.evaluations.claim(eligible, self.owner, now, until)
            if evaluation is None:
                return
            rule = rules.get(evaluation.rule_id)
            if rule is None:  # (cannot happen: only these rules' evaluations are taken)
                await self.stores.evaluations.release(evaluation.id, self.owner, now)
                return
            if evaluation.version != rule.record.version:
                await self.stores.evaluations.finish(
                    evaluation.id,
                    self.owner,
                    "skipped",
                    now,
                    reason="superseded",
                    error=f"the rule was edited (version {rule.record.version}) before "
                    f"this run was evaluated under version {evaluation.version}",
                    attempt=False,
                )
                continue
            concurrency = rule.definition.limits.concurrency
            if concurrency is not None and (
                self._local(rule.id) >= concurrency
                or await self.stores.evaluations.running(rule.id, now) > concurrency
            ):
                # Counted after taking it: when several processes take at once, each
                # sees the others' and at most `concurrency` go ahead.
                await self.stores.evaluations.release(evaluation.id, self.owner, now)
                eligible.remove(rule.id)
                continue
            task = asyncio.create_task(self._evaluate(evaluation, rule))
            self._inflight[task] = rule.id
            task.add_done_callback(self._done)
            if concurrency is not None and self._local(rule.id) >= concurrency:
                eligible.remove(rule.id)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        self.finished += 1
        self.background.wake()  # a slot is free: look for more

    # --- one evaluation -------------------------------------------------------------

    async def _evaluate(self, evaluation: Evaluation, rule: ActiveRule) -> None:
        try:
            await self._work(evaluation, rule)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self.stores.evaluations.release(
                        evaluation.id, self.owner, clock.now(), interrupted=True
                    )
                )
            raise
        except DatabaseError as exc:
            # The database is away: the lease runs out and the evaluation is taken again.
            log.warning("evaluation %s: database error: %s", evaluation.id, exc)
        except Exception as exc:
            log.exception("evaluation %s of rule %s", evaluation.id, rule.id)
            await self._retry(evaluation, rule, f"unexpected error: {type(exc).__name__}")

    async def _scorer(self, rule: ActiveRule) -> Scorer:
        key = (rule.id, rule.record.version)
        cached = self._scorers.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.config.scorer_seconds:
            return cached[1]
        lock = self._building.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._scorers.get(key)
            if cached is not None and time.monotonic() - cached[0] < self.config.scorer_seconds:
                return cached[1]
            assert self._http is not None
            scorer = await build_scorer(
                self.stores,
                rule,
                llm=self.llm,
                llm_model=self.llm_model,
                http=self._http,
                allow_private_networks=self.config.allow_private_networks,
            )
            self._scorers = {k: v for k, v in self._scorers.items() if k[0] != rule.id}
            self._scorers[key] = (time.monotonic(), scorer)
            return scorer

    async def _already_scored(self, evaluation: Evaluation, rule: ActiveRule) -> float | None:
        assert rule.definition.key is not None
        record = await self.stores.feedback.by_natural(
            {
                "project_id": evaluation.project_id,
                "run_id": evaluation.run_id,
                "key": rule.definition.key,
                "actor": reviewer(rule.id),
            }
        )
        if record is None or record.retracted or not isinstance(record.score, int | float):
            return None
        info = record.source_info if isinstance(record.source_info, dict) else {}
        if info.get("rule_id") != rule.id or info.get("rule_version") != evaluation.version:
            return None
        return float(record.score)

    def _writer(
        self, evaluation: Evaluation, rule: ActiveRule, scorer: Scorer, outcome: Outcome
    ) -> Writer:
        who = reviewer(rule.id)
        info: dict[str, Any] = {
            "rule_id": rule.id,
            "rule_name": rule.record.name,
            "rule_version": evaluation.version,
            "scorer": scorer.name,
            "model": outcome.model or scorer.model,
            "evaluation_id": evaluation.id,
        }
        return Writer(who, Change(by=who, via="evaluation"), info)

    async def _work(self, evaluation: Evaluation, rule: ActiveRule) -> None:
        store = self.stores.evaluations
        run = await self.stores.runs.get(evaluation.project_id, evaluation.run_id)
        if run is None:
            await self._fail(evaluation, "the run no longer exists")
            return
        # Only an evaluation that was in flight somewhere before, or tried before, can
        # have its score stored already: a first try skips the read.
        maybe_scored = evaluation.recovered or evaluation.attempts > 0
        done = await self._already_scored(evaluation, rule) if maybe_scored else None
        if done is not None:
            await store.finish(
                evaluation.id,
                self.owner,
                "done",
                clock.now(),
                score=done,
                key=rule.definition.key,
                attempt=False,
            )
            return
        try:
            scorer = await self._scorer(rule)
        except ScoringFailed as exc:
            await self._fail_or_retry(evaluation, rule, exc)
            return
        except PlauditError as exc:
            await self._fail(evaluation, f"the scorer cannot run: {exc.message}")
            return
        verdict = await take_call(self.stores.rate_limits, rule.id, rule.definition.limits)
        if verdict.kind == "defer":
            assert verdict.until is not None
            self._blocked_until[rule.id] = verdict.until
            await store.release(evaluation.id, self.owner, verdict.until)
            return
        if verdict.kind == "budget":
            now = clock.now()
            await store.finish(
                evaluation.id, self.owner, "skipped", now, reason="budget", error=verdict.reason
            )
            await store.skip_due(rule.id, now, "budget")
            return
        await self._score(evaluation, rule, scorer, run)

    async def _score(
        self, evaluation: Evaluation, rule: ActiveRule, scorer: Scorer, run: Run
    ) -> None:
        store = self.stores.evaluations
        try:
            outcome = await scorer.score(evaluation.id, run)
        except NotApplicable as exc:
            await store.finish(
                evaluation.id,
                self.owner,
                "skipped",
                clock.now(),
                reason="not_applicable",
                error=exc.message,
            )
            return
        except ScoringFailed as exc:
            await self._fail_or_retry(evaluation, rule, exc)
            return
        await spend_tokens(self.stores.rate_limits, rule.id, outcome.tokens)
        try:
            await scorer.store(
                self.stores, run, outcome, self._writer(evaluation, rule, scorer, outcome)
            )
        except PlauditError as exc:
            await self._retry(evaluation, rule, f"the score could not be stored: {exc.message}")
            return
        await store.finish(
            evaluation.id,
            self.owner,
            "done",
            clock.now(),
            score=numeric(outcome.score),
            key=rule.definition.key,
            tokens=outcome.tokens,
        )

    async def _fail_or_retry(
        self, evaluation: Evaluation, rule: ActiveRule, exc: ScoringFailed
    ) -> None:
        if exc.final:
            await self._fail(evaluation, exc.message)
        else:
            await self._retry(evaluation, rule, exc.message)

    async def _fail(self, evaluation: Evaluation, error: str) -> None:
        log.info("evaluation %s of run %s failed: %s", evaluation.id, evaluation.run_id, error)
        await self.stores.evaluations.finish(
            evaluation.id, self.owner, "failed", clock.now(), error=error
        )

    async def _retry(self, evaluation: Evaluation, rule: ActiveRule, error: str) -> None:
        attempts = evaluation.attempts + 1
        if attempts >= rule.definition.limits.max_attempts:
            await self._fail(evaluation, error)
            return
        delay = retry_delay(self.config.retry_base_seconds, attempts)
        next_at = clock.now() + timedelta(seconds=delay)
        await self.stores.evaluations.release(evaluation.id, self.owner, next_at, error=error)
