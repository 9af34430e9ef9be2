"""The embedded MongoDB-wire server, for running with zero set-up.

When MONGODB_URI is unset, Plaudit runs SecantusDB (a MongoDB-wire server over
WiredTiger) as a child process with its data in the data directory. SecantusDB is
GPL-2.0, so it is only ever *run* (its ``secantusd-py`` command), never imported.

One process at a time owns a data directory: it holds a lock on ``plaudit.lock``
there (released by the system when that process ends, however it ends) for as long
as its server runs, and records the server's pid in ``secantusd.pid``. On Linux the
server gets SIGTERM when its owner dies, even by SIGKILL (app/store/embedded/parent_death.py).
Elsewhere it can outlive a killed owner; the next owner, holding the lock, knows no
live Plaudit uses it and stops it before starting its own.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from app.store.embedded.parent_death import command_dying_with_parent
from app.store.embedded.process_table import command_line, is_running, terminate

COMMAND = "secantusd-py"
LOCK_FILE = "plaudit.lock"
PID_FILE = "secantusd.pid"

logger = logging.getLogger(__name__)


class EmbeddedStartError(RuntimeError):
    """The embedded server could not start; the message says why in one line."""


class DataDirInUse(EmbeddedStartError):
    """Another live process owns the data directory (and its server)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _find_command() -> str:
    beside_python = Path(sys.executable).parent / COMMAND
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(COMMAND)
    if found is None:
        raise EmbeddedStartError(
            f"cannot find the {COMMAND!r} command: install the SecantusDB package "
            "(pip install SecantusDB) or set MONGODB_URI"
        )
    return found


class EmbeddedMongo:
    """Start with :meth:`start` (or ``with``); :attr:`uri` then connects to it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        timeout: float = 60,
        stop_timeout: float = 15,
        die_with_parent: bool = True,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.storage_path = self.data_dir / "db"
        self.log_path = self.data_dir / "secantusd.log"
        self.pid_path = self.data_dir / PID_FILE
        self.port = port
        self.timeout = timeout
        self.stop_timeout = stop_timeout
        # False: the server may outlive this process (what happens on systems
        # without PR_SET_PDEATHSIG; tests use it to leave an orphan behind).
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None

    @property
    def uri(self) -> str:
        # retryWrites=false: SecantusDB 0.7 keeps every retryable write's reply for
        # 30 minutes and, past 10,000 of them, sorts them all on every write
        # (measured: inserts fall from ~600/s to ~40/s after 10k writes and stay
        # there; without retryable writes, ~530/s flat over 14k). Nothing is lost:
        # it keeps those replies in memory only, so they could not recognise a
        # retry after the restart that makes one necessary. Without them a failed
        # write is not retried by the driver; the request fails (503) and the
        # client's retry is made safe by Plaudit's own idempotency (client ids,
        # natural keys, tested in tests/reliability).
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def start(self) -> str:
        try:
            self.storage_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbeddedStartError(
                f"cannot create the data directory {self.storage_path}: {exc.strerror}"
            ) from None
        self._lock()
        try:
            self._stop_orphan()
            self._launch()
            self._wait_until_ready()
        except BaseException:
            # Whatever stopped the start (an error, a signal, Ctrl-C) also stops
            # the server, so none is left behind.
            self.stop()
            raise
        return self.uri

    def _lock(self) -> None:
        """Own the data directory, or fail naming the process that does."""
        if self._lock_fd is not None:
            return  # already ours: a restart after kill()
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUse(
                f"the data directory {self.data_dir} is in use by another process "
                f"(pid {owner}, a plaudit serve or command): stop it, or set "
                "PLAUDIT_DATA_DIR to another directory"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # releases the lock

    def _stop_orphan(self) -> None:
        """Stop the server a killed owner left running (we hold the lock, so no live
        Plaudit uses it). Stopped rather than reused: its settings and state are
        whatever the dead process left, and it is already stopping if it got the
        parent-death signal. A pid now used by another program is left alone."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return
        line = command_line(pid)
        if (
            line is not None
            and COMMAND in line
            and line.endswith(f"--storage-path {self.storage_path}")
            and is_running(pid)
        ):
            logger.warning(
                "stopping the embedded database (pid %d) a killed Plaudit left running", pid
            )
            terminate(pid, self.stop_timeout)
        self.pid_path.unlink(missing_ok=True)

    def _launch(self) -> None:
        if self.port is None:
            self.port = _free_port()
        argv = [
            _find_command(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "WARNING",
            # Last, so a command line is recognised by how it ends (_stop_orphan).
            "--storage-path",
            str(self.storage_path),
        ]
        if self.die_with_parent:
            argv = command_dying_with_parent(argv)
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own fixed command
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own process group: a Ctrl-C in the terminal reaches Plaudit,
                # which then stops the server in order instead of both dying at once.
                start_new_session=True,
            )
        finally:
            log.close()
        self.pid_path.write_text(f"{self.process.pid}\n")

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.timeout
        client: MongoClient[dict[str, object]] = MongoClient(
            self.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            while True:
                if self.process.poll() is not None:
                    last = self._last_log_line()
                    if "resource busy" in last:
                        last = (
                            f"its data directory {self.storage_path} is in use by another "
                            "process (is Plaudit already running with this PLAUDIT_DATA_DIR?)"
                        )
                    raise EmbeddedStartError(
                        f"the embedded database exited with code {self.process.returncode}: {last}"
                    )
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        raise EmbeddedStartError(
                            f"the embedded database did not answer within {self.timeout:.0f}s: "
                            f"{self._last_log_line()}"
                        ) from None
                    time.sleep(0.1)
        finally:
            client.close()

    def _last_log_line(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln]
        except OSError:
            return "no log"
        return lines[-1][:300] if lines else f"see {self.log_path}"

    def stop(self) -> None:
        """SIGTERM, wait up to ``stop_timeout`` seconds, then SIGKILL; then give up
        the data directory."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._lock_fd is not None:
            self.pid_path.unlink(missing_ok=True)
        self._unlock()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (fault-injection tests); this
        process keeps the data directory, so :meth:`start` starts it again."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
