"""Automatic-feedback jobs: label, in the background, the runs of a task or key that
have no label yet.

A job is a document (``app/store/autofeedback_jobs.py``); whatever process holds its
lease runs it. ``start_job`` creates one (queued, or leased to the caller to run in
the foreground); every app process has an ``AutoFeedbackRunner`` that, on start-up
and whenever woken or every ``POLL_SECONDS``, takes the jobs nobody holds: new ones,
ones a stopped process released, and ones whose process died (lease lapsed).

Running a job: load the people's labels once (the example pool), then walk the runs
the job selects (the run filter, and a task's tag selector), newest first, keeping
those with no label; claim each atomically (a claim per project, target and run), so
no run is labelled twice however many processes or jobs run; predict; store the label
as feedback of source ``model``; record the run ``done`` or ``failed`` (with the
reason) and let the claim go. Progress is counted from those results. The job ends
when ``total`` runs are settled or none is left; a cancelled job stops after the
runs in flight, whose predictions are dropped. After ``MAX_CONSECUTIVE_LLM_ERRORS``
runs in a row fail to reach the LLM, the job fails rather than mark every run failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from app import clock
from app.domain import validation as v
from app.domain.autofeedback.llm import LLMClient, LLMConfig, LLMError
from app.domain.autofeedback.predictors import (
    NEAREST_NEIGHBOUR,
    IclPredictor,
    NearestNeighbour,
    PredictionFailed,
    Predictor,
)
from app.domain.autofeedback.selection import ExamplePool
from app.domain.autofeedback.targets import Prediction, Target, load_target
from app.domain.background import BackgroundLoop, cancel_and_wait
from app.domain.feedback import Change
from app.errors import BadRequest, NotFound, PlauditError
from app.settings import Settings
from app.store import Stores
from app.store.autofeedback_jobs import AutoFeedbackJob, ClaimFailure
from app.store.errors import DatabaseError
from app.store.runs import Run, RunQuery

log = logging.getLogger("plaudit.autofeedback")

METHODS = ("llm", "nearest_neighbour")
DEFAULT_EXAMPLES = 8
MAX_EXAMPLES = 50
MAX_LIMIT = 10_000
# People's labels loaded as the example pool (the newest).
POOL_SIZE = 2000
LEASE_SECONDS = 60.0
POLL_SECONDS = 30.0
# How long a run's claim keeps other jobs off it (covers an LLM call and its retries).
RUN_CLAIM_SECONDS = 900
SCAN_PAGE = 100
MAX_CONSECUTIVE_LLM_ERRORS = 5

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class JobProgress:
    done: int
    failed: int
    in_flight: int


def check_method(method: str, settings: Settings) -> None:
    if method not in METHODS:
        raise BadRequest(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    if method == "llm" and settings.llm_model is None:
        raise BadRequest(
            "method LLM needs an LLM: set PLAUDIT_LLM_BASE_URL and PLAUDIT_LLM_MODEL "
            "(or use method NEAREST_NEIGHBOUR, which needs none)",
            field="method",
        )


def check_examples(examples: int) -> int:
    if not 1 <= examples <= MAX_EXAMPLES:
        raise BadRequest(f"examples must be between 1 and {MAX_EXAMPLES}", field="examples")
    return examples


async def unlabelled_runs(
    stores: Stores, target: Target, run_filter: RunQuery
) -> AsyncIterator[list[Run]]:
    """Pages of the runs the filter selects that have no label yet, newest first."""
    query = target.run_query(run_filter)
    after = None
    while True:
        page = await stores.runs.page(target.project_id, query, SCAN_PAGE, after)
        if page.items:
            labelled = await target.labelled(stores, [r.id for r in page.items])
            yield [r for r in page.items if r.id not in labelled]
        if not page.has_next_page:
            return
        after = page.end_cursor


async def start_job(
    stores: Stores,
    settings: Settings,
    project_id: str,
    *,
    task_id: str | None,
    key: str | None,
    run_filter: RunQuery,
    limit: int,
    method: str = "llm",
    examples: int = DEFAULT_EXAMPLES,
    created_by: str,
    owner: str | None = None,
) -> AutoFeedbackJob:
    """Create a job over at most ``limit`` unlabelled runs. With ``owner`` the job is
    leased to that runner at once (to run it in the foreground)."""
    check_method(method, settings)
    check_examples(examples)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    target = await load_target(stores, project_id, task_id=task_id, key=key)
    # (More than the newest label: it may not fit the task's current schema.)
    has_examples = bool(await target.examples(stores, SCAN_PAGE))
    if not has_examples and (method != "llm" or not target.instructions):
        raise BadRequest(
            "nothing to learn from yet: no labels from people on this "
            + ("task" if target.kind == "task" else "key")
            + (" (method LLM can also work from instructions alone)" if method != "llm" else "")
        )
    total = 0
    async for runs in unlabelled_runs(stores, target, run_filter):
        total = min(limit, total + len(runs))
        if total == limit:
            break
    model = settings.llm_model if method == "llm" else NEAREST_NEIGHBOUR
    assert model is not None
    now = clock.now()
    fields: dict[str, Any] = {
        "project_id": project_id,
        "task_id": target.task_id,
        "key": target.key,
        "method": method,
        "model": model,
        "reviewer": f"model:{model}",
        "examples": examples,
        "instructions": target.instructions if target.kind == "key" else None,
        "run_filter": asdict(run_filter),
        "limit": limit,
        "total": total,
        "created_by": created_by,
    }
    until = now + timedelta(seconds=LEASE_SECONDS)
    return await stores.autofeedback_jobs.create(fields, now, owner, until)


async def get_job(stores: Stores, project_id: str, job_id: str) -> AutoFeedbackJob:
    job_id = v.check_uuid(job_id, "id")
    job = await stores.autofeedback_jobs.get(project_id, job_id)
    if job is None:
        raise NotFound(f"automatic feedback job {job_id} not found", field="id")
    return job


async def cancel_job(stores: Stores, project_id: str, job_id: str) -> AutoFeedbackJob:
    """Cancel a queued or running job; a finished job is returned as it is."""
    job = await get_job(stores, project_id, job_id)
    cancelled = await stores.autofeedback_jobs.cancel(project_id, job.id, clock.now())
    return cancelled or await get_job(stores, project_id, job.id)


async def job_progress(stores: Stores, job: AutoFeedbackJob) -> JobProgress:
    counts = await stores.autofeedback_claims.counts(job.id)
    return JobProgress(
        done=counts.get("done", 0),
        failed=counts.get("failed", 0),
        in_flight=counts.get("claimed", 0),
    )


async def job_failures(stores: Stores, job: AutoFeedbackJob, limit: int) -> list[ClaimFailure]:
    return await stores.autofeedback_claims.failures(job.id, limit)


class JobExecution:
    """One run of one job by the process holding its lease."""

    def __init__(
        self,
        stores: Stores,
        job: AutoFeedbackJob,
        owner: str,
        predictor: Predictor,
        target: Target,
        *,
        concurrency: int,
        lease_seconds: float,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.stores = stores
        self.job = job
        self.owner = owner
        self.predictor = predictor
        self.target = target
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.on_progress = on_progress
        self.change = Change(by=f"autofeedback:{job.id}", via="autofeedback")
        self.heartbeat = BackgroundLoop(
            f"autofeedback-heartbeat-{job.id}",
            self._renew,
            lease_seconds / 3,
            log=log,
            failure=f"automatic feedback job {job.id}: cannot renew its lease now",
            wait_first=True,
        )
        self.stopped = False
        self.fatal: str | None = None
        self.llm_errors_in_a_row = 0

    async def run(self) -> None:
        self.heartbeat.start()
        try:
            await self._settle_open_claims()
            exhausted = await self._label_all()
        finally:
            await self.heartbeat.stop()
        if self.stopped:
            return
        progress = await job_progress(self.stores, self.job)
        now = clock.now()
        if self.fatal is not None:
            await self.stores.autofeedback_jobs.finish(
                self.job.id, self.owner, "failed", now, error=self.fatal
            )
            return
        settled = progress.done + progress.failed
        total = settled if exhausted and settled < self.job.total else None
        await self.stores.autofeedback_jobs.finish(
            self.job.id, self.owner, "done", now, total=total
        )

    async def _renew(self) -> bool:
        """Renew the job's lease; False (the heartbeat ends) when it was lost."""
        until = clock.now() + timedelta(seconds=self.lease_seconds)
        if not await self.stores.autofeedback_jobs.renew(self.job.id, self.owner, until):
            self.stopped = True
            return False
        return True

    async def _still_ours(self) -> bool:
        if not self.stopped and not await self.stores.autofeedback_jobs.holds(
            self.job.id, self.owner
        ):
            self.stopped = True
        return not self.stopped

    async def _settle_open_claims(self) -> None:
        """Claims left open when this job last stopped: a run that got its label
        before the stop is done; the others are labelled again below (the job may
        take its own claims again)."""
        open_ids = await self.stores.autofeedback_claims.open_claims(self.job.id)
        if not open_ids:
            return
        labelled = await self.target.labelled(self.stores, open_ids)
        for run_id in labelled:
            await self._settle(run_id, "done")

    async def _label_all(self) -> bool:
        """Label runs until ``total`` are settled; True when runs ran out first."""
        progress = await job_progress(self.stores, self.job)
        remaining = self.job.total - progress.done - progress.failed
        slots = asyncio.Semaphore(self.concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        exhausted = True
        try:
            async for runs in unlabelled_runs(
                self.stores, self.target, RunQuery(**self.job.run_filter)
            ):
                if not runs:
                    continue
                now = clock.now()
                blocked = await self.stores.autofeedback_claims.blocked(
                    self.job.project_id, self.target.ref, [r.id for r in runs], self.job.id, now
                )
                for run in runs:
                    if remaining <= 0 or self.fatal is not None:
                        break
                    if run.id in blocked:
                        continue
                    await slots.acquire()
                    if not await self._still_ours() or self.fatal is not None:
                        slots.release()
                        break
                    if not await self._claim(run):
                        slots.release()
                        continue
                    if await self.target.labelled(self.stores, [run.id]):
                        # Labelled by another job since this page was read.
                        await self._release(run.id)
                        slots.release()
                        continue
                    remaining -= 1
                    task = asyncio.create_task(self._label_one(run))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    task.add_done_callback(lambda _: slots.release())
                if remaining <= 0 or self.stopped or self.fatal is not None:
                    exhausted = False
                    break
            if in_flight:
                await asyncio.gather(*in_flight)
        finally:
            await cancel_and_wait(in_flight)
        return exhausted

    async def _claim(self, run: Run) -> bool:
        now = clock.now()
        return await self.stores.autofeedback_claims.claim(
            self.job.project_id,
            self.target.ref,
            run.id,
            self.job.id,
            now,
            now + timedelta(seconds=RUN_CLAIM_SECONDS),
        )

    async def _release(self, run_id: str) -> None:
        await self.stores.autofeedback_claims.release(
            self.job.project_id, self.target.ref, run_id, self.job.id
        )

    async def _settle(self, run_id: str, state: str, error: str | None = None) -> None:
        await self.stores.autofeedback_claims.settle(
            self.job.project_id, self.target.ref, run_id, self.job.id, state, clock.now(), error
        )

    async def _label_one(self, run: Run) -> None:
        try:
            prediction = await self.predictor.predict(run)
            if not await self._still_ours():
                # Cancelled meanwhile: drop the label, and let the run go.
                await self._release(run.id)
                return
            await self.target.store(
                self.stores,
                run.id,
                Prediction(prediction.values, {**prediction.source_info, "job_id": self.job.id}),
                self.job.reviewer,
                self.change,
            )
        except LLMError as exc:
            await self._fail(run, exc.message)
            if exc.retryable:
                self.llm_errors_in_a_row += 1
                if self.llm_errors_in_a_row >= MAX_CONSECUTIVE_LLM_ERRORS and self.fatal is None:
                    self.fatal = (
                        f"stopped after {self.llm_errors_in_a_row} runs in a row could not "
                        f"reach the LLM; the last error: {exc.message}"
                    )
            return
        except PredictionFailed as exc:
            self.llm_errors_in_a_row = 0
            await self._fail(run, exc.message)
            return
        except PlauditError as exc:
            await self._fail(run, f"the label could not be stored: {exc.message}")
            return
        except DatabaseError:
            raise  # the database is away: the job stops and is resumed later
        except Exception as exc:
            log.exception("automatic feedback job %s: run %s", self.job.id, run.id)
            await self._fail(run, f"unexpected error: {type(exc).__name__}")
            return
        self.llm_errors_in_a_row = 0
        await self._settle(run.id, "done")
        await self._report()

    async def _fail(self, run: Run, error: str) -> None:
        log.info("automatic feedback job %s: run %s failed: %s", self.job.id, run.id, error)
        await self._settle(run.id, "failed", error)
        await self._report()

    async def _report(self) -> None:
        if self.on_progress is not None:
            progress = await job_progress(self.stores, self.job)
            self.on_progress(progress.done, progress.failed)


def new_owner() -> str:
    """A name for this process's runner, unique across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AutoFeedbackRunner:
    """Runs this process's share of automatic-feedback jobs (see the module doc)."""

    def __init__(
        self,
        stores: Stores,
        settings: Settings,
        *,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.stores = stores
        self.settings = settings
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.owner = new_owner()
        self._llm: LLMClient | None = None
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self.background = BackgroundLoop(
            "autofeedback-poller",
            self._take_jobs,
            poll_seconds,
            log=log,
            failure="automatic feedback: cannot take jobs now",
        )

    @property
    def methods(self) -> list[str]:
        """The methods this process can run (LLM only with an LLM configured)."""
        return list(METHODS) if self.settings.llm_model is not None else ["nearest_neighbour"]

    def llm(self) -> LLMClient:
        """The process's LLM client (one concurrency limit for every job and report)."""
        if self._llm is None:
            config = LLMConfig.from_settings(self.settings)
            if config is None:
                raise BadRequest("no LLM is configured: set PLAUDIT_LLM_BASE_URL")
            self._llm = LLMClient(config)
        return self._llm

    # --- background -------------------------------------------------------------

    async def start(self) -> None:
        """Start taking jobs (unfinished ones from before a restart first)."""
        self.background.start()

    def wake(self) -> None:
        """Look for jobs now (a new job was queued)."""
        self.background.wake()

    @property
    def running(self) -> list[str]:
        return list(self._jobs)

    async def idle(self) -> None:
        """Wait until no job runs in this process (tests, shutdown)."""
        while self._jobs:
            await asyncio.gather(*self._jobs.values(), return_exceptions=True)

    async def stop(self) -> None:
        """Stop: cancel the jobs in flight and release their leases, so the next
        process (or this one, restarted) resumes them at once."""
        await self.background.stop()
        await cancel_and_wait(self._jobs.values())
        if self._llm is not None:
            await self._llm.close()
            self._llm = None

    async def _take_jobs(self) -> None:
        while True:
            now = clock.now()
            job = await self.stores.autofeedback_jobs.take(
                self.owner, self.methods, now, now + timedelta(seconds=self.lease_seconds)
            )
            if job is None:
                return
            log.info("automatic feedback: running job %s (%s)", job.id, job.target)
            task = asyncio.create_task(self._run_job(job))
            self._jobs[job.id] = task
            task.add_done_callback(self._forget(job.id))

    def _forget(self, job_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._jobs.pop(job_id, None)

        return forget

    async def _run_job(self, job: AutoFeedbackJob) -> None:
        try:
            await self.execute(job)
        except Exception:
            log.exception("automatic feedback job %s stopped by an unexpected error", job.id)

    # --- one job ----------------------------------------------------------------

    async def execute(
        self, job: AutoFeedbackJob, on_progress: ProgressCallback | None = None
    ) -> None:
        """Run a job this runner holds the lease of, to its end (done, failed,
        cancelled). If interrupted, the lease is released and the job stays resumable."""
        finished = False
        try:
            try:
                target = await load_target(
                    self.stores, job.project_id, task_id=job.task_id, key=job.key
                )
                predictor = await self._predictor(job, target)
            except PlauditError as exc:
                await self.stores.autofeedback_jobs.finish(
                    job.id, self.owner, "failed", clock.now(), error=exc.message
                )
                finished = True
                return
            execution = JobExecution(
                self.stores,
                job,
                self.owner,
                predictor,
                target,
                concurrency=self.settings.llm_concurrency if job.method == "llm" else 1,
                lease_seconds=self.lease_seconds,
                on_progress=on_progress,
            )
            await execution.run()
            finished = True
        finally:
            if not finished:
                with contextlib.suppress(DatabaseError):
                    await asyncio.shield(self.stores.autofeedback_jobs.release(job.id, self.owner))

    async def _predictor(self, job: AutoFeedbackJob, target: Target) -> Predictor:
        examples = await target.examples(self.stores, POOL_SIZE)
        if job.method == "nearest_neighbour":
            if not examples:
                raise BadRequest("no labels from people to learn from")
            return NearestNeighbour(examples)
        if job.instructions is not None and target.kind == "key":
            target.instructions = job.instructions
        pool = ExamplePool(examples, target.fields)
        return IclPredictor(self.llm(), job.model, target, pool, job.examples)
