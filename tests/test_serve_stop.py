"""How `plaudit serve` stops and what it leaves behind: SIGTERM and SIGHUP stop it
as Ctrl-C does (uvicorn, then the embedded store; nothing left running), with one
worker or two; a killed serve's processes stop too, and a store left running anyway
is stopped by the next serve; two serves never share a data directory."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import free_port
from tests.serve import Server, cli_env, kill_leftovers, plaudit, tagged_processes, wait_exited


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of the test's `plaudit` processes, on a new data directory;
    whatever of them a failing test leaves running is killed after it."""
    env = cli_env(tmp_path / "data", free_port())
    yield env
    kill_leftovers(env)


def start(env: dict[str, str], *args: str, project: bool = False) -> Server:
    """`plaudit serve ARGS`, optionally with a project created through it."""
    log = Path(env["PLAUDIT_DATA_DIR"]).parent / "serve.log"
    server = Server(env, int(env["PLAUDIT_PORT"]), *args, log=log)
    if project:
        created = plaudit(env, "projects", "create", "demo")
        assert created.returncode == 0, created.stderr
    return server


def running(env: dict[str, str], server: Server) -> dict[int, str]:
    """serve's processes (the store among them), checked while it runs."""
    found = tagged_processes(env)
    assert server.pid in found, found
    assert any("secantusd" in line for line in found.values()), found
    return found


def assert_nothing_left(env: dict[str, str], started: dict[int, str]) -> None:
    assert wait_exited(env, list(started), timeout=60) == [], tagged_processes(env)
    assert tagged_processes(env) == {}  # nor any process started after the snapshot


def assert_project_listed(env: dict[str, str]) -> None:
    listed = plaudit(env, "projects", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[1:] == ["demo"], listed.stdout


def test_sigterm_stops_the_store_and_the_next_serve_has_the_data(
    env: dict[str, str], tmp_path: Path
) -> None:
    server = start(env, project=True)
    try:
        started = running(env, server)
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.output()
    assert "Shutting down" in server.output()  # uvicorn's graceful shutdown
    assert_nothing_left(env, started)

    server = Server(env, int(env["PLAUDIT_PORT"]), log=tmp_path / "serve-again.log")
    try:
        assert_project_listed(env)
    finally:
        assert server.stop(signal.SIGTERM) == 0, server.output()


@pytest.mark.parametrize(
    ("signum", "workers"),
    [
        pytest.param(signal.SIGHUP, 1, id="SIGHUP"),
        pytest.param(signal.SIGTERM, 2, id="SIGTERM-2-workers"),
        pytest.param(signal.SIGHUP, 2, id="SIGHUP-2-workers"),
    ],
)
def test_stop_signals_leave_nothing_running(env: dict[str, str], signum: int, workers: int) -> None:
    server = start(env, "--workers", str(workers))
    try:
        started = running(env, server)
    finally:
        code = server.stop(signum)
    assert code == 0, server.output()
    assert "Shutting down" in server.output()
    assert_nothing_left(env, started)


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_serve_takes_its_processes_along(env: dict[str, str], workers: int) -> None:
    """SIGKILL: nothing runs in serve; on Linux its store gets SIGKILL and its workers SIGTERM
    from the system when it dies (PR_SET_PDEATHSIG) and stop."""
    server = start(env, "--workers", str(workers))
    try:
        started = running(env, server)
    finally:
        code = server.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert_nothing_left(env, started)


# What a killed serve leaves where its store does not die with it (other systems
# than Linux): a store running on the data directory, its owner gone.
LEAVE_AN_ORPHAN = """
import os, signal, sys
from pathlib import Path
from app.store.embedded.server import EmbeddedMongo
store = EmbeddedMongo(Path(sys.argv[1]), die_with_parent=False)
store.start()
print(store.process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_orphaned_store_is_stopped_by_the_next_serve(env: dict[str, str], tmp_path: Path) -> None:
    created = plaudit(env, "projects", "create", "demo")
    assert created.returncode == 0, created.stderr
    orphaning = subprocess.run(
        [sys.executable, "-c", LEAVE_AN_ORPHAN, env["PLAUDIT_DATA_DIR"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert orphaning.returncode == -signal.SIGKILL, orphaning.stderr
    orphan = int(orphaning.stdout)
    assert "secantusd" in tagged_processes(env)[orphan]

    server = Server(env, int(env["PLAUDIT_PORT"]), log=tmp_path / "serve.log")
    try:
        # Stopped before the new store started (it could not have, beside it).
        assert wait_exited(env, [orphan], timeout=0) == []
        assert f"stopping the embedded database (pid {orphan})" in server.output()
        assert_project_listed(env)
    finally:
        assert server.stop(signal.SIGTERM) == 0, server.output()


def test_second_serve_on_one_data_directory_is_refused(env: dict[str, str]) -> None:
    server = start(env)
    try:
        second = plaudit({**env, "PLAUDIT_PORT": str(free_port())}, "serve")
        assert second.returncode == 1
        data_dir = Path(env["PLAUDIT_DATA_DIR"]).resolve()
        assert second.stderr.splitlines() == [
            f"Error: the data directory {data_dir} is in use by another process "
            f"(pid {server.pid}, a plaudit serve or command): stop it, or set "
            "PLAUDIT_DATA_DIR to another directory"
        ]
        assert httpx.get(server.url + "/readyz", timeout=10).status_code == 200
    finally:
        assert server.stop(signal.SIGTERM) == 0, server.output()
