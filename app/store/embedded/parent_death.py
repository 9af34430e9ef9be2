"""Children that stop when Plaudit dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG).

Linux sends the signal when the *thread* that started the child ends, so it is only
asked for from the main thread, which lives as long as the process. Elsewhere (other
systems, other threads) a child can outlive a killed Plaudit, and the next start
finds and stops it (app/store/embedded/server.py).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1

# Run as `python -I -c LAUNCHER PARENT_PID PROGRAM ARGS...`: ask for SIGKILL when the
# parent dies, give up if it already has, then become PROGRAM (the request survives
# exec). Done in a fresh interpreter rather than a preexec_fn, which is unsafe when
# the parent has threads (as pymongo's clients do).
#
# SIGKILL, not SIGTERM: the embedded server's SIGTERM handler can hang (a full
# suite run saw it still there a minute after its parent was killed), and with the
# parent gone nobody is left to escalate, as a normal stop does after 15 s. Its
# acknowledged writes are journaled, so this is the crash it already survives
# (tests/reliability/test_store_faults.py kills it the same way).
_LAUNCHER = """\
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit("plaudit: the parent process ended before its child started")
os.execv(sys.argv[2], sys.argv[2:])
"""


def _linux() -> bool:
    return sys.platform.startswith("linux")


def available() -> bool:
    """Whether a child started now, from this thread, can be tied to this process."""
    return _linux() and threading.current_thread() is threading.main_thread()


def command_dying_with_parent(argv: list[str]) -> list[str]:
    """``argv`` (a program and its arguments) run so that it gets SIGKILL when this
    process dies; ``argv`` unchanged where that is not available."""
    if not available():
        return argv
    return [sys.executable, "-I", "-c", _LAUNCHER, str(os.getpid()), *argv]


def die_with_parent(parent_pid: int) -> None:
    """Have this process get SIGTERM when its parent (``parent_pid``) dies; if it
    already has, SIGTERM now. Does nothing on other systems than Linux."""
    if not _linux():
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)
