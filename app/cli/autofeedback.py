"""`plaudit autofeedback TASK --project P`: run an automatic feedback job in the
foreground, with a progress bar. Interrupted (Ctrl-C), the job stays resumable: a
running server, or the next run of the same job, picks it up."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click
from tqdm import tqdm

from app.cli.common import with_settings_and_stores
from app.domain.autofeedback.jobs import (
    DEFAULT_EXAMPLES,
    MAX_EXAMPLES,
    MAX_LIMIT,
    AutoFeedbackRunner,
    JobProgress,
    job_progress,
    start_job,
)
from app.domain.projects import find_project
from app.errors import NotFound
from app.settings import Settings
from app.store import Stores
from app.store.autofeedback_jobs import AutoFeedbackJob
from app.store.runs import RunQuery

METHODS = {"llm": "llm", "nearest-neighbour": "nearest_neighbour"}


@dataclass(frozen=True)
class Outcome:
    job: AutoFeedbackJob
    progress: JobProgress


async def run_autofeedback(
    settings: Settings,
    stores: Stores,
    *,
    project_name: str,
    task_name: str | None,
    key: str | None,
    method: str,
    limit: int,
    examples: int,
    tags: list[str],
    progress: bool = True,
) -> Outcome:
    project = await find_project(stores, project_name)
    task_id = None
    if task_name is not None:
        task = await stores.feedback_tasks.by_name(project.id, task_name)
        if task is None:
            raise NotFound(f"no feedback task named {task_name!r} in project {project_name}")
        task_id = task.id
    runner = AutoFeedbackRunner(stores, settings)
    try:
        job = await start_job(
            stores,
            settings,
            project.id,
            task_id=task_id,
            key=key,
            run_filter=RunQuery(tags=tags),
            limit=limit,
            method=method,
            examples=examples,
            created_by="cli",
            owner=runner.owner,
        )
        click.echo(f"job {job.id}: {job.total} runs to label with {job.model}", err=True)
        with tqdm(total=job.total, unit=" runs", file=sys.stderr, disable=not progress) as bar:

            def advance(done: int, failed: int) -> None:
                bar.n = done + failed
                bar.set_postfix(failed=failed, refresh=False)
                bar.refresh()

            await runner.execute(job, advance)
    finally:
        await runner.stop()
    final = await stores.autofeedback_jobs.get(project.id, job.id)
    assert final is not None
    return Outcome(final, await job_progress(stores, final))


@click.command("autofeedback")
@click.argument("task", required=False)
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--key", default=None, help="Judge this feedback key instead of a task.")
@click.option(
    "--method",
    type=click.Choice(list(METHODS)),
    default="llm",
    show_default=True,
    help="llm: AutoFeedbackICL (PLAUDIT_LLM_*); nearest-neighbour: no LLM.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=1000,
    show_default=True,
    help="Label at most this many runs.",
)
@click.option(
    "--examples",
    type=click.IntRange(1, MAX_EXAMPLES),
    default=DEFAULT_EXAMPLES,
    show_default=True,
    help="Examples per prompt (k).",
)
@click.option("--tag", "tags", multiple=True, help="Only runs with this tag (repeatable).")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def autofeedback(
    task: str | None,
    project_name: str,
    key: str | None,
    method: str,
    limit: int,
    examples: int,
    tags: tuple[str, ...],
    progress: bool,
) -> None:
    """Label the runs of feedback task TASK (by name) that have no label yet, the way
    reviewers labelled the others. With --key instead of TASK, judge a feedback key."""
    if (task is None) == (key is None):
        raise click.UsageError("give a TASK name or --key KEY (one of them)")
    outcome = with_settings_and_stores(
        lambda settings, stores: run_autofeedback(
            settings,
            stores,
            project_name=project_name,
            task_name=task,
            key=key,
            method=METHODS[method],
            limit=limit,
            examples=examples,
            tags=list(tags),
            progress=progress,
        )
    )
    job, counts = outcome.job, outcome.progress
    click.echo(
        f"job {job.id} {job.status}: {counts.done} labelled, {counts.failed} failed "
        f"(of {job.total})",
        err=True,
    )
    if job.status == "failed":
        raise click.ClickException(job.error or "the job failed")
