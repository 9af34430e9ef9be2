"""Other processes, by pid: is one running, what command line it has, stop it.

Linux answers from /proc; other systems from ``ps``. Used to find and stop an
embedded store that outlived the Plaudit process that started it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

_PROC = Path("/proc")


def _ps(pid: int, field: str) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed command, a number and a field name
            ["ps", "-ww", "-o", f"{field}=", "-p", str(pid)],  # noqa: S607 - ps from PATH
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _state(pid: int) -> str | None:
    """The one-letter process state (Z: a zombie), or None if there is no such process."""
    if _PROC.is_dir():
        try:
            stat = (_PROC / str(pid) / "stat").read_text()
        except OSError:
            return None
        # "pid (command) S ...": the command may hold spaces and parentheses.
        return stat.rpartition(")")[2].split()[0]
    found = _ps(pid, "stat")
    return found[0] if found else None


def is_running(pid: int) -> bool:
    """True while the process exists and has not exited (a zombie has exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, and belongs to another user
    state = _state(pid)
    return state is not None and state != "Z"


def command_line(pid: int) -> str | None:
    """The process's arguments joined by spaces, or None if it is gone or unreadable."""
    if _PROC.is_dir():
        try:
            raw = (_PROC / str(pid) / "cmdline").read_bytes()
        except OSError:
            return None
        return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace") or None
    return _ps(pid, "args")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM, wait up to ``timeout`` seconds for it to exit, then SIGKILL.

    For a process that is not our child (we cannot wait() on it), so this polls."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if _wait_gone(pid, timeout):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _wait_gone(pid, timeout)
