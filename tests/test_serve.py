"""`plaudit serve` end to end: the embedded store starts, CLI commands reach it while
it runs, Ctrl-C stops both, and the data survive a restart."""

from __future__ import annotations

import http.client
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import free_port


def cli_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "PLAUDIT_"))}
    env.update({"PLAUDIT_DATA_DIR": str(data_dir), "PLAUDIT_PORT": str(port)})
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


class Server:
    def __init__(
        self,
        env: dict[str, str],
        port: int,
        *,
        command: list[str | Path] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "app.cli", "serve"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.process.kill()
        raise AssertionError("serve did not become ready")

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=60)
        return self.process.returncode, out


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def graphql(url: str, key: str, query: str, variables: dict[str, object]) -> dict[str, object]:
    response = httpx.post(
        url + "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, object] = body["data"]
    return data


def test_serve_cli_and_restart(data_dir: Path) -> None:
    port = free_port()
    env = cli_env(data_dir, port)
    server = Server(env, port)
    try:
        created = plaudit(env, "projects", "create", "demo")
        assert created.returncode == 0, created.stderr
        made = plaudit(env, "keys", "create", "--project", "demo", "--role", "admin")
        assert made.returncode == 0, made.stderr
        secret = made.stdout.strip()
        assert secret.startswith("plaudit_")
        listed = plaudit(env, "keys", "list")
        assert "demo" in listed.stdout and "admin" in listed.stdout
        assert secret not in listed.stdout
        run_id = str(uuid.uuid4())
        graphql(
            server.url,
            secret,
            'mutation($id: ID!) { ingestRuns(runs: [{id: $id, name: "kept"}]) { id } }',
            {"id": run_id},
        )
        # An idle connection outlives uvicorn's default 5 s keep-alive.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/healthz")
        assert connection.getresponse().read()
        time.sleep(6)
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        code, output = server.interrupt()
    assert code == 0, output
    assert not (data_dir / "embedded.json").exists()
    key_file = data_dir / "secret_keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    server = Server(env, port)
    try:
        data = graphql(
            server.url, secret, "query($id: ID!) { run(id: $id) { name } }", {"id": run_id}
        )
        assert data["run"] == {"name": "kept"}
    finally:
        server.interrupt()


def test_keys_for_unknown_project(data_dir: Path) -> None:
    env = cli_env(data_dir, free_port())
    result = plaudit(env, "keys", "create", "--project", "nope", "--role", "read")
    assert result.returncode != 0
    assert "no project named 'nope'" in result.stderr


def test_bad_setting_stops_with_one_clear_line(data_dir: Path) -> None:
    env = cli_env(data_dir, free_port())
    env["PLAUDIT_PORT"] = "eighty"
    result = plaudit(env, "serve")
    assert result.returncode != 0
    assert "PLAUDIT_PORT must be a whole number, got 'eighty'" in result.stderr
    assert "Traceback" not in result.stderr
