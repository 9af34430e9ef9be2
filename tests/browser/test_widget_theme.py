"""The widget's colours follow the host page (theme=auto), not only the OS: the
page's color-scheme, its <meta name="color-scheme">, else the colour behind the
widget; theme=light|dark overrides; a page switching themes is followed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import issue, make_run
from tests.browser.servers import HostPage, LiveApp

LIGHT = ["rgb(255, 255, 255)", "rgb(31, 35, 40)"]
DARK = ["rgb(13, 17, 23)", "rgb(230, 237, 243)"]
BOX_STYLE = """el => { const s = getComputedStyle(el.shadowRoot.querySelector('.box'));
                       return [s.backgroundColor, s.color]; }"""


def page_with(live: LiveApp, token: str, head: str = "", attributes: str = "") -> str:
    return f"""<!doctype html><html><head><title>Host</title>{head}</head><body>
<p>An answer.</p>
<plaudit-feedback token="{token}" server="{live.url}" {attributes}></plaudit-feedback>
<script src="{live.url}/widget.js"></script></body></html>"""


@pytest.mark.parametrize(
    ("os_scheme", "head", "attributes", "expected"),
    [
        # The page declares nothing and is white: light, even on a dark OS.
        ("dark", "", "", LIGHT),
        # The page declares both: the OS decides.
        ("dark", "<style>:root { color-scheme: light dark; }</style>", "", DARK),
        ("light", "<style>:root { color-scheme: light dark; }</style>", "", LIGHT),
        # The page is dark, by its color-scheme or its meta tag: dark on a light OS.
        ("light", "<style>:root { color-scheme: dark; }</style>", "", DARK),
        ("light", '<meta name="color-scheme" content="dark">', "", DARK),
        # Nothing declared, but a dark background behind the widget.
        ("light", "<style>body { background: #1b1f24; }</style>", "", DARK),
        # theme= wins over the page.
        ("light", "<style>:root { color-scheme: dark; }</style>", 'theme="light"', LIGHT),
        ("light", "", 'theme="dark"', DARK),
    ],
    ids=[
        "undeclared-white-on-dark-os",
        "both-dark-os",
        "both-light-os",
        "css-dark",
        "meta-dark",
        "dark-background",
        "theme-light",
        "theme-dark",
    ],
)
def test_the_widget_follows_the_host(
    live: LiveApp,
    host: HostPage,
    browser: Browser,
    os_scheme: str,
    head: str,
    attributes: str,
    expected: list[str],
) -> None:
    host.html = page_with(live, issue(live, make_run(live))["token"], head, attributes)
    context = browser.new_context(color_scheme=os_scheme)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(host.origin)
    element = page.locator("plaudit-feedback")
    expect(element.get_by_role("button", name="Yes")).to_be_visible()
    assert element.evaluate(BOX_STYLE) == expected
    context.close()


def test_a_page_switching_themes_is_followed(
    live: LiveApp, host: HostPage, browser: Browser
) -> None:
    host.html = page_with(live, issue(live, make_run(live))["token"])
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(host.origin)
    element = page.locator("plaudit-feedback")
    box = element.locator(".box")
    expect(element.get_by_role("button", name="Yes")).to_be_visible()
    expect(box).to_have_attribute("data-scheme", "light")
    page.evaluate("document.documentElement.style.colorScheme = 'dark'")
    expect(box).to_have_attribute("data-scheme", "dark")
    assert element.evaluate(BOX_STYLE) == DARK
    # An explicit theme set later wins.
    element.evaluate("el => el.setAttribute('theme', 'light')")
    expect(box).to_have_attribute("data-scheme", "light")
    context.close()
