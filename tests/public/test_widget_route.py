"""GET /widget.js: the one-file widget, cached with an ETag, within its size budget."""

from __future__ import annotations

import re

import httpx

from app.public.widget import WIDGET_PATH

# Unminified, with its documentation (no build step): 6 KB gzipped. It grew from
# 10 KB when the answers began to follow the key (scales, categories, numbers),
# the colours the host page, and a sent comment became editable.
SIZE_BUDGET = 20 * 1024


async def test_served_with_etag_and_cache_headers(http: httpx.AsyncClient) -> None:
    response = await http.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "max-age=" in response.headers["cache-control"]
    assert response.content == WIDGET_PATH.read_bytes()
    etag = response.headers["etag"]
    again = await http.get("/widget.js", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    stale = await http.get("/widget.js", headers={"if-none-match": '"other"'})
    assert stale.status_code == 200
    assert (await http.head("/widget.js")).headers["etag"] == etag


def test_widget_source_rules() -> None:
    source = WIDGET_PATH.read_text()
    assert len(source.encode()) < SIZE_BUDGET
    assert "customElements.get(TAG)" in source
    assert "attachShadow" in source
    # The only innerHTML is the static template; user text goes through textContent.
    assert len(re.findall(r"\.innerHTML\s*=", source)) == 1
    assert "tpl.innerHTML = HTML;" in source
    # Talks to its own server only: the one fetch is to serverOf(this), for the
    # question and for answers.
    assert re.findall(r"fetch\(([^,]+),", source) == ["serverOf(this) + path"]
    assert re.findall(r"this\._request\(\"?(/?[a-z/]*)", source) == ["path", "/public/feedback"]
    assert 'var path = "/public/question?token="' in source
    assert "XMLHttpRequest" not in source and "import(" not in source
