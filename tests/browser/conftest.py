"""Browser fixtures: Debian's Chromium, headless, driven by Playwright, against the real stack.

`make test` installs Chromium (apt) and axe-core (npm) first (the Makefile's browser-deps target).
Playwright's own browser downloads are never used: we point it at /usr/bin/chromium. Each test gets a
new browser context (fresh storage); launch() gives the browser a fresh temporary user-data-dir.
Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium on a machine without internet stalls on first-run and network chores.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTEFACTS = settings.ROOT / "test-artifacts" / "browser"
AXE_JS = settings.ROOT / "node_modules" / "axe-core" / "axe.min.js"
REPLY_TIMEOUT_MS = 60_000

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 320, "height": 640}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: run `make browser-deps` (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


@dataclass
class PageErrors:
    errors: list[str] = field(default_factory=list)


@pytest.fixture()
def open_page(browser):
    """open_page(url, viewport=..., **context options) -> a Page in a new context (fresh storage).
    Fails the test if the page throws a JavaScript error."""
    contexts, seen = [], PageErrors()

    def _open(url: str, viewport: dict | None = None, **options):
        context = browser.new_context(viewport=viewport or DESKTOP, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(REPLY_TIMEOUT_MS)
        page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
        page.goto(url)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not seen.errors, f"JavaScript errors on the page: {seen.errors}"


class Widget:
    """The chat widget on a page, seen the way a person uses it (Playwright's CSS pierces the shadow root)."""

    HOST = "move-to-lulea-chat"

    def __init__(self, page):
        self.page = page
        self.launcher = page.locator(f"{self.HOST} .launcher")
        self.panel = page.locator(f"{self.HOST} .panel")
        self.input = page.locator(f"{self.HOST} textarea#mtl-input")
        self.send_button = page.locator(f"{self.HOST} button.send")
        self.bot = page.locator(f"{self.HOST} .log .msg.bot")
        self.user = page.locator(f"{self.HOST} .log .msg.user")
        self.messages = page.locator(f"{self.HOST} .log .msg")
        self.live = page.locator(f"{self.HOST} [aria-live=polite]")
        self.typing = page.locator(f"{self.HOST} .typing")

    def js(self, expression: str, arg=None):
        """Evaluate `expression` (a function of (root, arg)) against the widget's shadow root."""
        return self.page.evaluate(f"([arg]) => ({expression})(document.querySelector('{self.HOST}').shadowRoot, arg)", [arg])

    def wait_ready(self) -> None:
        self.launcher.wait_for(state="visible")

    def open(self) -> None:
        self.wait_ready()
        self.launcher.click()
        self.panel.wait_for(state="visible")
        self.wait_for_bot(1)

    def wait_for_bot(self, count: int) -> None:
        """Wait until at least `count` bot messages are shown and the widget is no longer busy."""
        self.page.wait_for_function(
            f"""() => {{ const r = document.querySelector('{self.HOST}').shadowRoot;
                 return r.querySelectorAll('.log .msg.bot').length >= {count} && r.querySelector('.typing').hidden; }}""",
            timeout=REPLY_TIMEOUT_MS)

    def ask(self, text: str) -> str:
        before = self.bot.count()
        self.input.fill(text)
        self.input.press("Enter")
        self.wait_for_bot(before + 1)
        return self.bot.nth(before).inner_text()

    def click_and_wait(self, locator) -> None:
        before = self.bot.count()
        locator.click()
        self.wait_for_bot(before + 1)

    def quick_replies(self):
        return self.page.locator(f"{self.HOST} .log .quick-replies button")

    def last_bot(self):
        return self.bot.last

    def text(self, selector: str) -> str:
        return self.page.locator(f"{self.HOST} {selector}").inner_text()

    def active(self) -> dict:
        """What has the keyboard focus: inside the widget (its class and tag) or on the page."""
        return self.page.evaluate(f"""() => {{
            const host = document.querySelector('{self.HOST}');
            if (document.activeElement === host) {{
                const a = host.shadowRoot.activeElement;
                return {{inWidget: true, tag: a ? a.tagName.toLowerCase() : null, cls: a ? a.className : null,
                         text: a ? (a.innerText || a.value || '') : '', id: a ? a.id : null,
                         outline: a ? getComputedStyle(a).outlineStyle : null, outlineWidth: a ? getComputedStyle(a).outlineWidth : null}};
            }}
            const a = document.activeElement;
            return {{inWidget: false, tag: a ? a.tagName.toLowerCase() : null, cls: a ? a.className : null,
                     text: a ? (a.innerText || '') : '', id: a ? a.id : null}};
        }}""")


@pytest.fixture()
def widget_on(open_page):
    """widget_on(url, **options) -> Widget on a freshly opened page."""
    def _on(url: str, **options) -> Widget:
        page = open_page(url, **options)
        widget = Widget(page)
        widget.wait_ready()
        return widget
    return _on


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class ServedApp:
    url: str
    app: object


@pytest.fixture()
def serve_app() -> Iterator:
    """serve_app(flask_app) -> ServedApp on a free loopback port, in a thread, stopped after the test."""
    from werkzeug.serving import make_server

    from tests.conftest import free_port

    servers = []

    def _serve(app) -> ServedApp:
        port = free_port()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return ServedApp(url=f"http://127.0.0.1:{port}", app=app)

    yield _serve
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=10)
