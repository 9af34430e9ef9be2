"""A normal install works, offline.

The wheel is built from a copy of the package's files, installed (not editable) into a
new virtual environment, and `plaudit serve` runs from an empty directory with the
embedded store. It must serve the widget, the dashboard and its files, an email-link
page and GraphiQL, whose page must render in Chromium with no request leaving the
machine. An audit hook in the new environment lists every file the server opened: each
one it read from the installed package must come from the wheel, and none from the
source tree.

To keep the test fast and offline, the new environment borrows the test environment's
installed dependencies through a .pth file (its site-packages as a plain path, so the
editable install's finder there is never activated); `app` itself is imported from the
wheel, which the test checks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.graphiql import (
    RESULT,
    Traffic,
    open_graphiql,
    record_traffic,
    run_query,
    set_headers,
)
from tests.browser.servers import CHROMIUM_ARGS
from tests.live import free_port
from tests.serve import Server

REPO = Path(__file__).resolve().parents[1]
# What the build needs: pyproject.toml names the readme and the licence file.
BUILD_INPUTS = ["pyproject.toml", "README.md", "LICENSE"]
# Installed into the new environment only: lists the files a process opens.
OPEN_AUDIT = """
import atexit, os, sys

_log = os.environ.get("PLAUDIT_TEST_OPEN_LOG")
if _log:
    _opened = set()

    def _hook(event, args):
        if event == "open" and isinstance(args[0], (str, bytes)):
            _opened.add(os.path.abspath(os.fsdecode(args[0])))

    def _write():
        names = sorted(_opened)
        with open(f"{_log}.{os.getpid()}", "w") as out:
            out.write("\\n".join(names))

    sys.addaudithook(_hook)
    atexit.register(_write)
"""


def pip(*args: str | Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from the package's files as a fresh checkout has them."""
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(
        REPO / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in BUILD_INPUTS:
        shutil.copy(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, source)
    (found,) = out.glob("plaudit-*.whl")
    return found


@dataclass
class Installed:
    site_packages: Path
    bin: Path
    borrowed: list[Path]  # the test environment's site-packages

    @property
    def package(self) -> Path:
        return self.site_packages / "app"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", root], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout.strip()
    here = sysconfig.get_paths()
    borrowed = [Path(p) for p in dict.fromkeys([here["purelib"], here["platlib"]])]
    venv = Installed(Path(purelib), root / "bin", borrowed)
    pip("--python", python, "install", "--no-deps", "--no-index", wheel)
    (venv.site_packages / "_borrowed_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in borrowed)
    )
    (venv.site_packages / "_open_audit.py").write_text(OPEN_AUDIT)
    (venv.site_packages / "_open_audit.pth").write_text("import _open_audit\n")
    # The embedded store's command, as pip would have installed it beside Python.
    (venv.bin / "secantusd-py").symlink_to(Path(sys.executable).parent / "secantusd-py")
    return venv


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGODB_", "PLAUDIT_")) and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    return {**env, **extra}


@dataclass
class Running:
    serve: Server
    venv: Installed
    env: dict[str, str]
    workdir: Path
    open_log: Path

    def opened(self) -> Path:
        """The files the server process opened, one a line (written as it exits)."""
        return self.open_log.with_name(f"{self.open_log.name}.{self.serve.process.pid}")

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [self.venv.bin / "plaudit", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
def running(installed: Installed, tmp_path: Path) -> Iterator[Running]:
    workdir = tmp_path / "empty"
    workdir.mkdir()
    port = free_port()
    env = clean_env(PLAUDIT_DATA_DIR=str(tmp_path / "data"), PLAUDIT_PORT=str(port))
    open_log = tmp_path / "opened"
    # `plaudit serve` from the new environment, in an empty directory.
    serve = Server(
        {**env, "PLAUDIT_TEST_OPEN_LOG": str(open_log)},
        port,
        log=tmp_path / "serve.log",
        plaudit=installed.bin / "plaudit",
        cwd=workdir,
    )
    try:
        running = Running(serve, installed, env, workdir, open_log)
        running.cli("projects", "create", "demo")
        yield running
    finally:
        if serve.process.poll() is None:  # the test failed before stopping it
            serve.stop()  # Ctrl-C also stops the embedded store


def test_wheel_holds_every_file_under_app(wheel: Path) -> None:
    """Nothing in the package's folder is left out of the wheel (package-data)."""
    with zipfile.ZipFile(wheel) as packaged:
        in_wheel = set(packaged.namelist())
    on_disk = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "app").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert on_disk - in_wheel == set()


def test_installed_wheel_serves_everything_offline(
    wheel: Path, installed: Installed, running: Running
) -> None:
    imported = subprocess.run(
        [installed.bin / "python", "-c", "import app; print(app.__file__)"],
        cwd=running.workdir,
        env=running.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(imported.stdout.strip()).parent == installed.package
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {name: archive.read(name) for name in archive.namelist()}
    url = running.serve.url

    assert fetch(url, "/widget.js").content == in_wheel["app/public/static/plaudit-widget.js"]
    served = (
        page_files(url, "/dashboard")
        + page_files(url, "/dashboard/review")
        + page_files(url, "/graphql")
    )
    assert {
        "/dashboard/assets/charts.js",
        "/dashboard/assets/markdown.js",
        "/graphql/static/vendor/graphiql.min.js",
    } <= set(served)
    for path in served:
        assert fetch(url, path).content == in_wheel["app" + path], path

    key = running.cli("keys", "create", "--project", "demo", "--role", "admin").strip()
    page = fetch(url, email_link(running, key)).text
    assert "<form" in page and "helpful" in page

    traffic = graphiql_in_chromium(url, key)
    assert traffic.local_only() == []
    assert traffic.errors == []
    assert traffic.requests and all(u.startswith(url + "/") for u in traffic.requests)

    assert running.serve.stop() == 0, running.serve.output()
    read = [Path(p) for p in running.opened().read_text().splitlines()]
    from_package = {
        path.relative_to(installed.site_packages).as_posix()
        for path in read
        if path.is_relative_to(installed.site_packages)
        and path.suffix not in {".py", ".pyc", ".pth"}
        and not any(part.endswith(".dist-info") for part in path.parts)
    }
    # The files served above were among them: the audit saw the server's reads.
    assert {"app/public/static/plaudit-widget.js", "app/dashboard/index.html"} <= from_package
    assert "app/public/templates/feedback_page.html" in from_package
    assert from_package - in_wheel.keys() == set()
    from_source = [
        path
        for path in read
        if path.is_relative_to(REPO) and not any(path.is_relative_to(b) for b in installed.borrowed)
    ]
    assert from_source == []


def fetch(url: str, path: str) -> httpx.Response:
    response = httpx.get(url + path, headers={"Accept": "text/html"}, timeout=30)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response


def page_files(url: str, page: str) -> list[str]:
    """The files a page loads from the server: its stylesheets, icons and scripts
    (not where its <a> links go), and the modules those scripts import."""
    html = fetch(url, page).text
    files = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(/[^"?]+)', html)
    assert files, page
    for script in [f for f in files if f.endswith(".js")]:
        folder = script.rsplit("/", 1)[0]
        imported = re.findall(r'from "\./([^"]+)"', fetch(url, script).text)
        files += [f"{folder}/{name}" for name in imported]
    return files


def email_link(running: Running, key: str) -> str:
    """An email link's path: project and token from the installed CLI, the run over
    GraphQL."""
    run_id = str(uuid.uuid4())
    ingested = httpx.post(
        running.serve.url + "/graphql",
        json={
            "query": "mutation($r: [RunInput!]!) { ingestRuns(runs: $r) { id } }",
            "variables": {"r": [{"id": run_id, "name": "chat"}]},
        },
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert "errors" not in ingested.json(), ingested.text
    issued = running.cli(
        *["tokens", "email-links", "--project", "demo", "--key", "helpful"],
        *["--run", run_id, "--format", "json"],
    )
    links = json.loads(issued)
    return "/f/" + links["up"].split("/f/", 1)[1]


def graphiql_in_chromium(url: str, key: str) -> Traffic:
    """Open GraphiQL, paste the key into the Headers editor, run the default query."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            traffic = record_traffic(page, url)
            open_graphiql(page, url)
            set_headers(page, {"Authorization": f"Bearer {key}"})
            run_query(page)
            expect(page.locator(RESULT)).to_contain_text('"name": "demo"')
        finally:
            browser.close()
    return traffic
