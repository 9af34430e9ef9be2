"""Driving GraphiQL at /graphql in Chromium, and keeping the page on one machine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, Route, WebSocket, expect

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .CodeMirror"
RESULT = ".result-window"


@dataclass
class Traffic:
    """What a page asked for: every request (only the server's are let through),
    WebSocket frames, and console errors (a CSP violation is one)."""

    origin: str
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    frames_sent: list[str] = field(default_factory=list)
    frames_received: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def local_only(self) -> list[str]:
        """Requests and sockets that went to another host (none should)."""
        host = urlsplit(self.origin).netloc
        return self.refused + [url for url in self.sockets if urlsplit(url).netloc != host]


def record_traffic(page: Page, origin: str) -> Traffic:
    traffic = Traffic(origin)

    def route(route: Route) -> None:
        url = route.request.url
        traffic.requests.append(url)
        if url.startswith(origin + "/"):
            route.continue_()
        else:
            traffic.refused.append(url)
            route.abort()

    def socket(ws: WebSocket) -> None:
        traffic.sockets.append(ws.url)
        ws.on("framesent", lambda payload: traffic.frames_sent.append(str(payload)))
        ws.on("framereceived", lambda payload: traffic.frames_received.append(str(payload)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            traffic.errors.append(message.text)

    page.route("**/*", route)
    page.on("websocket", socket)
    page.on("console", console)
    page.on("pageerror", lambda exc: traffic.errors.append(str(exc)))
    return traffic


def open_graphiql(page: Page, url: str) -> None:
    page.goto(url + "/graphql")
    expect(page.locator(QUERY_EDITOR)).to_be_visible()
    expect(page.get_by_text("Loading GraphiQL...")).to_have_count(0)


def set_headers(page: Page, headers: dict[str, str]) -> None:
    page.get_by_text("Headers", exact=True).click()
    page.locator(HEADERS_EDITOR).last.click()
    page.keyboard.type(json.dumps(headers))


def set_query(page: Page, query: str, operation: str) -> None:
    """Replace the query; wait until GraphiQL has parsed it (the tab takes its name)."""
    page.locator(QUERY_EDITOR).click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type(query)
    expect(page.locator(".graphiql-tab-active")).to_contain_text(operation)


def run_query(page: Page) -> None:
    page.locator(".graphiql-execute-button").click()
