"""`plaudit export` against the test database, checked line by line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from app.cli import main
from app.settings import Settings
from tests.conftest import SECRET, GraphQLClient
from tests.export_dataset import build, expected_dpo, expected_sft


def run_cli(settings: Settings, *args: str) -> Result:
    env = {
        "MONGODB_URI": settings.mongodb_uri or "",
        "PLAUDIT_DB": settings.db_name,
        "PLAUDIT_SECRET_KEYS": SECRET,
        "PLAUDIT_DATA_DIR": str(settings.data_dir),
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


async def cli(settings: Settings, *args: str) -> Result:
    # The command runs its own event loop, so it runs in a thread beside the test's.
    return await asyncio.to_thread(run_cli, settings, *args)


def read_lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


async def test_export_to_a_file(gql: GraphQLClient, settings: Settings, tmp_path: Path) -> None:
    ds = await build(gql)
    out = tmp_path / "dpo.jsonl"
    result = await cli(settings, "export", "dpo", "--project", "acme", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert read_lines(out) == expected_dpo(ds)
    assert f"exported 5 records to {out}" in result.stderr
    assert "records" in result.stderr  # the progress bar
    assert not (tmp_path / "dpo.jsonl.partial").exists()

    out = tmp_path / "sft.jsonl"
    result = await cli(
        settings, "export", "sft", "--project", "acme", "--sources", "edits", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert read_lines(out) == [expected_sft(ds)[2]]

    out = tmp_path / "feedback.jsonl"
    result = await cli(
        settings, "export", "feedback", "--project", "acme", "--key", "quality", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert sorted(line["feedback"]["score"] for line in read_lines(out)) == [2, 5, 8]
    # The feedback export knows its size: the bar shows the total.
    assert "3/3" in result.stderr


async def test_export_to_stdout(gql: GraphQLClient, settings: Settings) -> None:
    ds = await build(gql)
    result = await cli(
        settings,
        "export",
        "regressions",
        "--project",
        "acme",
        "--group-by",
        "error_kind",
        "--no-progress",
        "--out",
        "-",
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["error_mode"], line["run_id"]) for line in lines] == [
        ("format", ds.runs["r4"]),
        ("hallucination", ds.runs["r2"]),
    ]
    assert "exported 2 records" in result.stderr


async def test_export_errors_leave_no_file(
    gql: GraphQLClient, settings: Settings, tmp_path: Path
) -> None:
    await build(gql)
    out = tmp_path / "x.jsonl"
    result = await cli(settings, "export", "dpo", "--project", "nope", "--out", str(out))
    assert result.exit_code == 1
    assert "no project named 'nope'" in result.stderr
    assert not out.exists() and not (tmp_path / "x.jsonl.partial").exists()

    result = await cli(
        settings, "export", "dpo", "--project", "acme", "--since", "soon", "--out", str(out)
    )
    assert result.exit_code == 1
    assert "since must be an ISO 8601" in result.stderr
    assert not out.exists()

    result = await cli(settings, "export", "csv", "--project", "acme", "--out", str(out))
    assert result.exit_code == 2
    assert "'csv' is not one of" in result.stderr
