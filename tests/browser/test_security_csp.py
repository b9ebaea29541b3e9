"""The demo page and the widget work under the app's Content-Security-Policy (web/security.py) in
real headless Chromium: no CSP violation while the page loads, the widget opens, a question is
answered and the conversation continues on the second page; the page's own styles still apply."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Widget

pytestmark = pytest.mark.stack

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_the_demo_page_and_widget_run_without_csp_violations(browser, stack, kb):
    context = browser.new_context()
    try:
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        page.set_default_timeout(60_000)
        console = []
        page.on("console", lambda message: console.append(message.text))
        response = page.goto(stack.urls["web"] + "/?lang=pl")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # The host page's own stylesheet (web/static/demo.css) applies: the header is dark.
        assert page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor") == "rgb(31, 31, 31)"
        widget = Widget(page)
        widget.wait_ready()
        widget.open()
        widget.ask("Jak wynająć mieszkanie w Luleå?")
        assert widget.last_bot().get_attribute("lang") == "pl"
        page.goto(stack.urls["web"] + "/living-in-lulea?lang=pl")
        Widget(page).wait_ready()
        violations = page.evaluate("() => window.__cspViolations")
        assert violations == []
        assert not [m for m in console if "Content Security Policy" in m]
    finally:
        context.close()
