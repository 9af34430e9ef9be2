"""The embedded MongoDB-wire server, for running with zero set-up.

When MONGODB_URI is unset, Plaudit runs SecantusDB (a MongoDB-wire server over
WiredTiger) as a child process with its data in the data directory. SecantusDB is
GPL-2.0, so it is only ever *run* (its ``secantusd-py`` command), never imported.
"""

from __future__ import annotations

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

COMMAND = "secantusd-py"


class EmbeddedStartError(RuntimeError):
    """The embedded server could not start; the message says why in one line."""


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

    def __init__(self, data_dir: Path, *, port: int | None = None, timeout: float = 60) -> None:
        self.data_dir = data_dir
        self.storage_path = data_dir / "db"
        self.log_path = data_dir / "secantusd.log"
        self.port = port
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None

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
        command = _find_command()
        if self.port is None:
            self.port = _free_port()
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own fixed command
                [
                    command,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--storage-path",
                    str(self.storage_path),
                    "--log-level",
                    "WARNING",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own process group: a Ctrl-C in the terminal reaches Plaudit,
                # which then stops the server in order instead of both dying at once.
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_until_ready()
        return self.uri

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
                        self.stop()
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

    def stop(self, timeout: float = 15) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would (fault-injection tests)."""
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
