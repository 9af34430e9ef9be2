"""GET /graphql in a browser: Plaudit's own GraphiQL page, every file from the package,
under a Content-Security-Policy that names no other origin."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import httpx

from app.graphql.ide import STATIC

HTML = {"Accept": "text/html"}


def page_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


async def test_page_loads_only_its_own_files(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    assets = page_assets(page.text)
    assert assets[0] == "data:,"  # the icon: no /favicon.ico request
    files = assets[1:]
    assert len(files) == 6
    for url in files:
        assert url.startswith("/graphql/static/"), url
        served = await http.get(url)
        assert served.status_code == 200, url
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert served.headers["x-content-type-options"] == "nosniff"
        name = url.removeprefix("/graphql/static/").split("?")[0]
        assert served.content == (STATIC / name).read_bytes()
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        assert served.headers["content-type"] == f"{kind}; charset=utf-8"


async def test_content_security_policy(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers=HTML)
    directives = (
        d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";")
    )
    policy = {name: value for name, value in directives}
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["font-src"] == "data:"
    assert policy["connect-src"] == "'self' ws://testserver wss://testserver"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in page.headers["content-security-policy"]
    # No inline script or style: the policy would block them.
    assert "<script>" not in page.text and "<style" not in page.text


async def test_stale_or_unknown_files(http: httpx.AsyncClient) -> None:
    # Without the current hash the file is still served, but revalidated.
    stale = await http.get("/graphql/static/graphiql-start.js?v=0000")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    # Only the page's own files: not the module beside them, not the licences.
    for name in ["..%2Fide.py", "vendor/../ide.py", "vendor/vendor.json", "nope.js"]:
        missing = await http.get(f"/graphql/static/{name}")
        assert missing.status_code == 404, name
        assert missing.json()["error"] == "not_found"


def test_vendored_files_are_the_pinned_releases() -> None:
    """vendor.json (written by scripts/vendor-graphiql) records each file's hash."""
    manifest = json.loads((STATIC / "vendor" / "vendor.json").read_text())
    assert {release["name"] for release in manifest} == {"react", "react-dom", "graphiql"}
    for release in manifest:
        assert release["license"] == "MIT"
        assert base64.b64decode(release["integrity"].removeprefix("sha512-"))
        for name, digest in release["files"].items():
            body = (STATIC / "vendor" / name).read_bytes()
            assert digest == "sha256-" + hashlib.sha256(body).hexdigest(), name
    licences = (STATIC / "vendor" / "LICENSES.txt").read_text()
    assert all(f"{r['name']} {r['version']} (MIT)" in licences for r in manifest)
