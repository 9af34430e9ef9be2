"""How `plaudit serve` stops: on SIGINT (Ctrl-C), SIGTERM (`kill`, systemd, Docker)
and SIGHUP (a closed terminal) alike, uvicorn finishes its requests and shuts the app
down, then the embedded database stops, and the process exits with status 0. Killed
(SIGKILL), its worker processes and (app/store/embedded/server.py) its database stop on their own
on Linux.

uvicorn handles SIGINT and SIGTERM while it runs; with one worker it then restores
the handlers it found and raises the signal again. Python's default for SIGTERM and
SIGHUP ends the process on the spot, skipping the embedded database's shutdown, so
:func:`exit_cleanly_on_signals` installs handlers that exit through Python instead.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

from starlette.applications import Starlette

from app.store.embedded.parent_death import die_with_parent

SERVE_PID = "PLAUDIT_SERVE_PID"


def _exit(signum: int, frame: FrameType | None) -> None:
    # Once is enough: a second signal must not cut the clean-up short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    raise SystemExit(0)


def _hang_up(signum: int, frame: FrameType | None) -> None:
    # As SIGTERM: while uvicorn runs, its handler starts a graceful shutdown;
    # before or after, _exit runs.
    signal.raise_signal(signal.SIGTERM)


def exit_cleanly_on_signals(workers: int) -> None:
    """Call from the main thread before uvicorn.run."""
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _hang_up)
    if workers > 1:
        # uvicorn's worker supervisor takes over every signal, and on SIGHUP
        # replaces its workers instead of stopping. `plaudit serve` stops the same
        # way with one worker or many (tests/test_serve_signals.py holds it to that).
        from uvicorn.supervisors.multiprocess import Multiprocess

        Multiprocess.handle_hup = Multiprocess.handle_term  # type: ignore[method-assign]


def app_factory() -> Starlette:
    """The uvicorn factory `plaudit serve` runs. In a worker process (``--workers``
    above 1), first asks to get SIGTERM when `plaudit serve` dies."""
    from app.main import app_from_env

    serve_pid = int(os.environ.get(SERVE_PID) or os.getpid())
    if serve_pid != os.getpid():
        die_with_parent(serve_pid)
    return app_from_env()
