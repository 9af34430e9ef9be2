"""`plaudit autofeedback` runs a job in the foreground, with a progress bar."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner, Result

from app.cli import main
from app.settings import Settings
from tests.autofeedback.api import model_submissions
from tests.autofeedback.dataset import TASK_NAME, TOPIC_LABELS, UNLABELLED, build, topic_label
from tests.autofeedback.fake_llm import FakeLLM, Reply
from tests.conftest import SECRET, GraphQLClient


def run_cli(settings: Settings, extra_env: dict[str, str], *args: str) -> Result:
    env = {
        "MONGODB_URI": settings.mongodb_uri or "",
        "PLAUDIT_DB": settings.db_name,
        "PLAUDIT_SECRET_KEYS": SECRET,
        "PLAUDIT_DATA_DIR": str(settings.data_dir),
        **extra_env,
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


async def cli(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Result:
    # The command runs its own event loop, so it runs in a thread beside the test's.
    return await asyncio.to_thread(run_cli, settings, env or {}, *args)


async def test_nearest_neighbour_in_the_foreground(gql: GraphQLClient, settings: Settings) -> None:
    ds = await build(gql)
    result = await cli(
        settings, "autofeedback", TASK_NAME, "--project", "acme", "--method", "nearest-neighbour"
    )
    assert result.exit_code == 0, result.output
    assert "3 runs to label with nearest-neighbour" in result.stderr
    assert " runs" in result.stderr and "3/3" in result.stderr  # the progress bar
    assert "done: 3 labelled, 0 failed (of 3)" in result.stderr
    for name in UNLABELLED:
        (submission,) = await model_submissions(gql, ds.task_id, ds.ids[name])
        assert submission["reviewer"] == "model:nearest-neighbour"
    jobs = await gql.ok("{ autoFeedbackJobs { nodes { status done total } } }")
    assert jobs["autoFeedbackJobs"]["nodes"] == [{"status": "DONE", "done": 3, "total": 3}]


async def test_llm_in_the_foreground(
    gql: GraphQLClient, settings: Settings, fake_llm: FakeLLM
) -> None:
    ds = await build(gql)
    fake_llm.responder = lambda body: Reply.label(topic_label(fake_llm.last_user_message(body)))
    env = {"PLAUDIT_LLM_BASE_URL": fake_llm.url, "PLAUDIT_LLM_MODEL": "judge-cli"}
    result = await cli(
        settings, "autofeedback", TASK_NAME, "--project", "acme", "--limit", "2",
        "--examples", "2", "--no-progress", env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "done: 2 labelled, 0 failed (of 2)" in result.stderr
    assert len(fake_llm.requests) == 2
    assert all(len(b["messages"]) == 1 + 2 * 2 + 1 for b in fake_llm.requests)
    labelled = [await model_submissions(gql, ds.task_id, ds.ids[n]) for n in UNLABELLED]
    found = [s for group in labelled for s in group]
    assert len(found) == 2
    for submission in found:
        assert submission["reviewer"] == "model:judge-cli"
        assert submission["values"] in TOPIC_LABELS.values()


async def test_cli_errors(gql: GraphQLClient, settings: Settings) -> None:
    await build(gql)
    result = await cli(settings, "autofeedback", "No such task", "--project", "acme")
    assert result.exit_code == 1
    assert "no feedback task named 'No such task'" in result.stderr
    result = await cli(settings, "autofeedback", "--project", "acme")
    assert result.exit_code == 2
    assert "give a TASK name or --key KEY" in result.stderr
    result = await cli(settings, "autofeedback", TASK_NAME, "--project", "acme")
    assert result.exit_code == 1
    assert "PLAUDIT_LLM_BASE_URL" in result.stderr  # method llm without an LLM
    result = await cli(
        settings, "autofeedback", TASK_NAME, "--project", "acme",
        env={"PLAUDIT_LLM_BASE_URL": "ftp://x"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "PLAUDIT_LLM_BASE_URL must start with http:// or https://" in result.stderr
