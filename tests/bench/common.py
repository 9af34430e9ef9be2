"""Shared pieces for the benchmarks: a store, a server process, percentiles."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.store.embedded.server import EmbeddedMongo
from tests.live import free_port


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def store(data_dir: Path | None = None) -> Iterator[str]:
    """MONGODB_URI if set, else an embedded store: in ``data_dir`` (kept, so a later
    run can reuse what this one wrote) or in a temporary directory."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        with EmbeddedMongo(data_dir) as embedded:
            yield embedded.uri
        return
    with tempfile.TemporaryDirectory() as temporary, EmbeddedMongo(Path(temporary)) as embedded:
        yield embedded.uri


@contextmanager
def server(
    uri: str, db_name: str, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """`plaudit serve` as its own process (``extra_env`` added to its environment);
    yields (base url, pid)."""
    port = free_port()
    env = {
        **os.environ,
        "MONGODB_URI": uri,
        "PLAUDIT_DB": db_name,
        "PLAUDIT_PORT": str(port),
        "PLAUDIT_SECRET_KEYS": "bench-secret-" + "x" * 40,
        "PLAUDIT_RATE_LIMIT_PER_IP": "1000000/second",
        "PLAUDIT_RATE_LIMIT_PER_TOKEN": "1000000/second",
        **(extra_env or {}),
    }
    # The server's log, kept for reading after the run (an error's traceback).
    with tempfile.NamedTemporaryFile(prefix="plaudit-bench-", suffix=".log", delete=False) as log:
        print(f"server log: {log.name}", file=sys.stderr)
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(30)
