"""The embedded store's record of its pid: a server a killed Plaudit left running is
stopped (tests/test_serve_stop.py); anything else that pid now names is left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.store.embedded.server import PID_FILE, EmbeddedMongo

SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]


@pytest.mark.parametrize(
    ("program", "directory"),
    [
        pytest.param([], "mine", id="another-program-on-this-directory"),
        pytest.param(["secantusd-py"], "other", id="the-store-of-another-directory"),
    ],
)
def test_pid_file_naming_another_process(
    tmp_path: Path, program: list[str], directory: str
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    storage_path = (tmp_path / directory).resolve() / "db"
    process = subprocess.Popen([*SLEEP, *program, "--storage-path", str(storage_path)])
    try:
        (mine / PID_FILE).write_text(f"{process.pid}\n")
        with EmbeddedMongo(mine) as store:
            assert store.process is not None and store.process.poll() is None
            assert (mine / PID_FILE).read_text() == f"{store.process.pid}\n"
        assert process.poll() is None  # still running
        assert not (mine / PID_FILE).exists()
    finally:
        process.kill()
        process.wait()
