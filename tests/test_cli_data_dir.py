"""Which data the CLI means: a command that reads data fails, creating nothing, on a
data directory that does not exist; every command's --help says where the data
are; `projects create` refuses a name no one could type back."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from app.cli import main

# Every command that needs data already there; `serve` and `projects create` start
# from nothing. A new command must be added to one list or the other.
READS = {
    "projects list": [],
    "keys create": ["--project", "demo", "--role", "read"],
    "keys list": [],
    "keys revoke": ["k1"],
    "tokens create": ["--project", "demo", "--run", "r1", "--key", "thumbs"],
    "tokens email-links": ["--project", "demo", "--run", "r1", "--key", "thumbs"],
    "tokens revoke": ["--project", "demo", "t1"],
    "export": ["feedback", "--project", "demo", "--out", "-"],
    "rollups rebuild": [],
    "autofeedback": ["topic", "--project", "demo"],
    "datasets from-feedback": ["ds", "--project", "demo", "--key", "thumbs"],
    "datasets export": ["ds", "--project", "demo", "--out", "ds.jsonl"],
    # --file must exist (click checks it first): this very file.
    "datasets import": ["ds", "--project", "demo", "--file", __file__],
    "rules list": ["--project", "demo"],
    "rules create": ["--project", "demo", "--file", "-"],
    "rules edit": ["r1", "--project", "demo", "--file", "-"],
    "rules pause": ["r1", "--project", "demo"],
    "rules resume": ["r1", "--project", "demo"],
    "rules delete": ["r1", "--project", "demo"],
    "rules backfill": ["r1", "--project", "demo", "--since", "2026-01-01"],
    "rules show": ["r1", "--project", "demo"],
    "erase-user": ["u1", "--project", "demo"],
    "delete-runs": ["--project", "demo", "--tag", "old"],
    "retention": ["--project", "demo", "30"],
    "dump": ["--project", "demo", "out.jsonl"],
    "import langsmith": ["--project", "demo", "runs.json"],
    "import langfuse": ["--project", "demo", "scores.json"],
}
# `load` fills a new database: the embedded one it creates, or MONGODB_URI's.
CREATES = {"serve", "projects create", "load"}
# What a command reads on stdin (`--file -`): a rule that is valid, so the command
# gets as far as the data.
RULE = (
    '{"name": "short answers", "key": "short", "samplingRate": 1, '
    '"scorer": {"kind": "CHECK", "check": {"type": "LENGTH", "maxLength": 10}}}'
)
STDIN = {"rules create": RULE, "rules edit": RULE}


def commands(group: click.Group = main, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(commands(command, path + " "))
        else:
            found[path] = command
    return found


def invoke(*args: str, data_dir: Path | None = None, stdin: str | None = None) -> Result:
    """The CLI in embedded mode: no MONGODB_URI, no other PLAUDIT_ setting."""
    unset: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("MONGODB_", "PLAUDIT_"))
    }
    env = {**unset, "PLAUDIT_DATA_DIR": str(data_dir) if data_dir else None}
    return CliRunner().invoke(main, list(args), input=stdin, env=env, catch_exceptions=False)


def test_every_command_is_classified() -> None:
    assert set(commands()) == set(READS) | CREATES


@pytest.mark.parametrize("command", sorted(READS))
def test_reading_a_missing_data_directory_says_so(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default data directory is ./.plaudit
    result = invoke(*command.split(), *READS[command], stdin=STDIN.get(command))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: no Plaudit data directory at {tmp_path.resolve() / '.plaudit'}: set "
        "PLAUDIT_DATA_DIR to the one `plaudit serve` uses (default: .plaudit in the "
        "current directory), or MONGODB_URI to use a MongoDB server"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_named_data_directory_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "data"
    result = invoke("keys", "list", data_dir=missing)
    assert result.exit_code == 1
    assert f"no Plaudit data directory at {missing.resolve()}:" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", sorted(set(commands()) | {"", "projects", "keys"}))
def test_help_names_the_database_settings(command: str) -> None:
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "PLAUDIT_DATA_DIR (default: .plaudit in the current directory)" in text
    assert "MONGODB_URI" in text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "a project name must not be empty"),
        ("   ", "a project name must not be empty"),
        ("\t\n", "a project name must not be empty"),
        (" demo", "a project name must not start or end with spaces, got ' demo'"),
    ],
)
def test_project_name_refused_before_anything_is_created(
    name: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("projects", "create", name)
    assert result.exit_code == 2
    assert f"Error: Invalid value for 'NAME': {message}" in result.stderr
    assert list(tmp_path.iterdir()) == []
