"""`plaudit serve` end to end: the embedded store starts, CLI commands reach it while
it runs, Ctrl-C stops both, and the data survive a restart."""

from __future__ import annotations

import http.client
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import free_port
from tests.serve import Server, cli_env, plaudit


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
    server = Server(env, port, log=data_dir.parent / "serve.log")
    try:
        created = plaudit(env, "projects", "create", "demo")
        assert created.returncode == 0, created.stderr
        unknown = plaudit(env, "keys", "create", "--project", "nope", "--role", "read")
        assert unknown.returncode != 0
        assert "no project named 'nope'" in unknown.stderr
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
        code = server.stop()
    assert code == 0, server.output()
    assert not (data_dir / "embedded.json").exists()
    key_file = data_dir / "secret_keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    server = Server(env, port, log=data_dir.parent / "serve.log")
    try:
        data = graphql(
            server.url, secret, "query($id: ID!) { run(id: $id) { name } }", {"id": run_id}
        )
        assert data["run"] == {"name": "kept"}
    finally:
        server.stop()


def test_bad_setting_stops_with_one_clear_line(data_dir: Path) -> None:
    env = cli_env(data_dir, free_port())
    env["PLAUDIT_PORT"] = "eighty"
    result = plaudit(env, "serve")
    assert result.returncode != 0
    assert "PLAUDIT_PORT must be a whole number, got 'eighty'" in result.stderr
    assert "Traceback" not in result.stderr
