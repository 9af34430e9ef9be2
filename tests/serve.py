"""`plaudit serve` and other `plaudit` commands as real processes, and the processes
they leave behind (Linux: read from /proc)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

# Every process a test's `plaudit` starts inherits this variable (the embedded
# store, uvicorn's workers...), so the test can find them, whoever their parent is.
TAG = "PLAUDIT_TEST_PROCESS_TAG"


def cli_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "PLAUDIT_"))}
    env.update(
        {
            "PLAUDIT_DATA_DIR": str(data_dir),
            "PLAUDIT_PORT": str(port),
            TAG: uuid.uuid4().hex,
        }
    )
    return env


def plaudit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _tagged(env: dict[str, str], pid: int) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False  # gone
    return f"{TAG}={env[TAG]}".encode() in environ.split(b"\0")


def tagged_processes(env: dict[str, str]) -> dict[int, str]:
    """The live processes started with this environment's tag: pid -> command line.
    (A zombie has no environment left, so it is not listed.)"""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _tagged(env, int(entry.name)):
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode().strip()
    return found


def kill_leftovers(env: dict[str, str]) -> None:
    """SIGKILL what a failed test left running."""
    for pid in tagged_processes(env):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_exited(env: dict[str, str], pids: list[int], timeout: float) -> list[int]:
    """Wait until each of these tagged processes has exited (a pidfd: woken by the
    exit itself, whoever the parent is); returns those still running at the deadline."""
    deadline = time.monotonic() + timeout
    running = []
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            # The pidfd holds on to the process: if the tag is there now, the pid
            # has not been reused by another.
            if not _tagged(env, pid):
                continue
            readable, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            os.close(fd)
        if not readable:
            running.append(pid)
    return running


class Server:
    """`plaudit serve ARGS` in its own process, ready (GET /readyz answers 200)."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        *args: str,
        log: Path,
        plaudit: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        """``plaudit``: the command to run (else this checkout's ``python -m app.cli``),
        in ``cwd``."""
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        command = [str(plaudit)] if plaudit else [sys.executable, "-m", "app.cli"]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "serve", *args],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.output()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.process.kill()
        self.process.wait()
        raise AssertionError(f"serve did not become ready: {self.output()}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Send ``signum`` and wait for the exit; returns the exit status."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"serve did not stop on {signum}: {self.output()}") from None
