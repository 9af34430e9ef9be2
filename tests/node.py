"""Real JavaScript clients, run by Node.js against a live Plaudit.

The npm packages are pinned in tests/js/package-lock.json and installed by
`make test` (`npm ci`). A script in tests/js/ reads what it needs from its
arguments and environment, does its work through the real client, and prints one
JSON document on its last line of output, which :func:`run_node` returns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

JS = Path(__file__).parent / "js"


def run_node(
    script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> Any:
    """Run ``tests/js/<script>`` with ``args``; its last line of output, parsed as JSON.
    Fails with the script's output when it exits with an error."""
    node = shutil.which("node")
    assert node is not None, (
        "Node.js is needed for the JavaScript client tests (make test installs it)"
    )
    assert (JS / "node_modules").is_dir(), "run `make test` (or npm ci --prefix tests/js) first"
    done = subprocess.run(
        [node, str(JS / script), *args],
        cwd=JS,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (
        f"{script} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing:\n{done.stderr}"
    return json.loads(lines[-1])
