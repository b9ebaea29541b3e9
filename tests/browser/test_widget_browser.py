"""The chat widget in real headless Chromium against the real stack (Rasa, action server, web app):
what a mover sees and does, on a desktop and on a 320 px phone, with a mouse and with the keyboard
only, and an axe-core audit of the demo page with the panel open."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.browser.conftest import AXE_JS, PHONE, Widget
from tests.conftest import free_port

pytestmark = pytest.mark.stack

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture()
def web(stack) -> str:
    return stack.urls["web"]


def session_storage(page) -> dict:
    return page.evaluate("() => Object.fromEntries(Object.entries(sessionStorage))")


def browser_storage(page) -> dict:
    return page.evaluate("""async () => ({local: Object.keys(localStorage), cookies: document.cookie,
                                          session: Object.fromEntries(Object.entries(sessionStorage))})""")


# ---------------------------------------------------------------- languages and answers

def test_open_and_ask_in_polish_then_swedish(widget_on, web, kb, artefacts):
    w = widget_on(f"{web}/?lang=pl")
    # The launcher is labelled in the language from data-lang and says that it opens the chat.
    launcher = w.page.get_by_role("button", name=kb.phrase("widget_open", "pl"), exact=True)
    assert launcher.is_visible()
    assert w.launcher.inner_text().strip() == kb.phrase("widget_launcher", "pl")
    w.open()
    assert w.bot.first.inner_text().strip().endswith(kb.phrase("greet", "pl"))
    assert w.input.get_attribute("placeholder") == kb.phrase("widget_placeholder", "pl")
    assert w.text(".title") == kb.phrase("widget_title", "pl")

    w.ask("Jak wynająć mieszkanie w Luleå?")
    answer = w.last_bot()
    assert answer.get_attribute("lang") == "pl"
    title = answer.locator(".msg-title").inner_text()
    assert title in {kb.title(t, "pl") for t in kb.topics}
    links = answer.locator(".sources a")
    assert links.count() >= 1
    assert all(links.nth(i).get_attribute("href").startswith("https://") for i in range(links.count()))
    assert links.first.get_attribute("target") == "_blank"
    w.page.screenshot(path=str(artefacts / "desktop-polish-answer.png"))

    # The mover switches the whole interface (and the bot) to Swedish with the language menu.
    before = w.bot.count()
    w.page.locator("move-to-lulea-chat select#mtl-lang").select_option("sv")
    w.wait_for_bot(before + 1)
    assert w.input.get_attribute("placeholder") == kb.phrase("widget_placeholder", "sv")
    assert w.text(".restart") == kb.phrase("start_over", "sv")
    assert w.page.get_by_role("button", name=kb.phrase("talk_to_person", "sv"), exact=True).first.is_visible()
    assert w.last_bot().inner_text().strip().endswith(
        kb.phrase("language_switched", "sv", language_name=kb.phrase("language_name", "sv")))

    w.ask("Hur hyr jag en lägenhet i Luleå?")
    reply = w.last_bot()
    assert reply.get_attribute("lang") == "sv"
    assert reply.locator(".msg-title").inner_text() in {kb.title(t, "sv") for t in kb.topics}
    # New bot messages are announced through the polite live region.
    w.page.wait_for_function("""() => document.querySelector('move-to-lulea-chat').shadowRoot
                                 .querySelector('[aria-live=polite]').textContent.length > 0""")
    assert reply.locator(".bubble p:not(.msg-title)").first.inner_text()[:40] in w.live.inner_text()


def test_browser_language_is_used_without_data_lang(widget_on, web, kb):
    w = widget_on(f"{web}/", locale="lt-LT")
    assert w.launcher.get_attribute("aria-label") == kb.phrase("widget_open", "lt")
    w.open()
    assert w.bot.first.get_attribute("lang") == "lt"
    assert w.bot.first.inner_text().strip().endswith(kb.phrase("greet", "lt"))


def test_quick_replies_and_the_topics_menu(widget_on, web, kb):
    w = widget_on(f"{web}/?lang=en")
    w.open()
    # "Browse topics" lists every topic from GET /api/topics; choosing one answers it.
    w.page.get_by_role("button", name=kb.phrase("browse_topics", "en"), exact=True).click()
    menu = w.page.locator("move-to-lulea-chat .topic-list button.topic")
    menu.first.wait_for()
    assert menu.count() == len(kb.topics)
    chosen = kb.title("housing.rent", "en")
    w.click_and_wait(menu.filter(has_text=re.compile(f"^{re.escape(chosen)}$")))
    assert w.user.last.inner_text().strip().endswith(chosen)
    assert w.last_bot().locator(".msg-title").inner_text() == chosen
    assert w.last_bot().inner_text().find(kb.topics["housing.rent"].entry("en").answer.split("\n")[0][:60]) >= 0

    # A quick reply under the answer: a related topic, answered next.
    related = [kb.title(t, "en") for t in kb.topics["housing.rent"].related if t in kb.topics]
    button = w.quick_replies().filter(has_text=re.compile("^(" + "|".join(map(re.escape, related)) + ")$")).first
    picked = button.inner_text()
    w.click_and_wait(button)
    assert w.user.last.inner_text().strip().endswith(picked)
    assert w.last_bot().locator(".msg-title").inner_text() == picked
    # Only the newest answer keeps its quick replies; the older ones are gone.
    assert w.page.locator("move-to-lulea-chat .log .msg").nth(-1).locator(".quick-replies").count() == 1
    assert w.page.locator("move-to-lulea-chat .log .quick-replies").count() == 1


# ---------------------------------------------------------------- session

def test_reload_and_navigation_keep_the_conversation_and_start_over_clears_it(widget_on, web, kb):
    w = widget_on(f"{web}/?lang=en")
    w.open()
    question = "How do I get a personnummer?"
    w.ask(question)
    shown = [m.strip() for m in w.messages.all_inner_texts()]
    storage = browser_storage(w.page)
    # Only an opaque session id is kept in the browser: nothing in localStorage, no cookies.
    assert list(storage["session"]) == ["moveToLulea.session"]
    session_id = storage["session"]["moveToLulea.session"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", session_id)
    assert storage["local"] == [] and storage["cookies"] == ""

    w.page.reload()
    w2 = Widget(w.page)
    w2.wait_ready()
    w2.launcher.click()
    w2.wait_for_bot(2)
    assert [m.strip() for m in w2.messages.all_inner_texts()] == shown
    assert w2.user.first.inner_text().strip().endswith(question)

    # Another page of the same site: the same conversation goes on.
    w.page.get_by_role("link", name="Living in Luleå").click()
    w3 = Widget(w.page)
    w3.wait_ready()
    w3.launcher.click()
    w3.wait_for_bot(2)
    assert [m.strip() for m in w3.messages.all_inner_texts()] == shown
    follow_up = w3.ask("And what does renting a flat cost?")
    assert follow_up
    assert session_storage(w.page)["moveToLulea.session"] == session_id

    # "Start over" forgets the session: a new id, only a new greeting.
    w3.page.locator("move-to-lulea-chat button.restart").click()
    w3.wait_for_bot(1)
    w3.page.wait_for_function(f"() => sessionStorage.getItem('moveToLulea.session') && sessionStorage.getItem('moveToLulea.session') !== '{session_id}'")
    assert w3.user.count() == 0
    assert w3.bot.count() == 1
    assert w3.bot.first.inner_text().strip().endswith(kb.phrase("greet", "en"))


def test_typed_html_is_shown_as_text_never_run(widget_on, web):
    w = widget_on(f"{web}/?lang=en")
    w.open()
    hostile = '<img src=x onerror="window.__mtlXss=1"><script>window.__mtlXss=2</script> housing?'
    w.ask(hostile)
    assert w.user.last.locator(".bubble").inner_text() == hostile
    assert w.page.locator("move-to-lulea-chat .log img, move-to-lulea-chat .log script").count() == 0
    w.page.reload()
    w2 = Widget(w.page)
    w2.wait_ready()
    w2.launcher.click()
    w2.wait_for_bot(2)
    assert w2.user.last.locator(".bubble").inner_text() == hostile
    assert w.page.locator("move-to-lulea-chat .log img").count() == 0
    assert w.page.evaluate("() => window.__mtlXss") is None


# ---------------------------------------------------------------- backend down: contact form

@pytest.fixture()
def web_without_bot(stack, serve_app):
    """A second web app sharing the stack's database, whose Rasa is a closed port: the bot is down."""
    from web import create_app

    app = create_app({"TESTING": False, "RASA_URL": f"http://127.0.0.1:{free_port()}",
                      "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
                      "DATABASE_URL": stack.extra_env["MOVE_DATABASE_URL"], "NOTIFY_INTERVAL_S": 0})
    return serve_app(app).url


def test_backend_down_shows_a_clear_message_retry_and_a_contact_form_that_stores_the_lead(
        widget_on, web_without_bot, stack, kb, artefacts):
    from web.leads import db
    from web.leads.models import Lead

    w = widget_on(f"{web_without_bot}/?lang=pl")
    w.launcher.click()
    error = w.page.locator("move-to-lulea-chat .msg.error")
    error.wait_for()
    assert error.locator(".bubble").inner_text() == kb.phrase("error_unavailable", "pl")
    retry = error.get_by_role("button", name=kb.phrase("widget_retry", "pl"), exact=True)
    retry.click()
    w.page.locator("move-to-lulea-chat .msg.error").wait_for()
    assert w.page.locator("move-to-lulea-chat .msg.error").count() == 1  # tried again, failed again, one message

    w.page.locator("move-to-lulea-chat .msg.error").get_by_role("button", name=kb.phrase("widget_contact_open", "pl")).click()
    form = w.page.locator("move-to-lulea-chat form.contact-form")
    form.wait_for()
    assert kb.phrase("ask_consent", "pl") in form.inner_text()

    # Sending it empty: clear messages at the fields, nothing stored, focus on the first problem.
    form.get_by_role("button", name=kb.phrase("widget_send", "pl"), exact=True).click()
    assert w.page.locator("move-to-lulea-chat #mtl-c-name").get_attribute("aria-invalid") == "true"
    assert w.text("#mtl-c-name-error") == kb.phrase("widget_error_required", "pl")
    assert w.text("#mtl-c-consent-error") == kb.phrase("consent_required", "pl")
    assert w.text("#mtl-c-household-error") == kb.phrase("widget_error_required", "pl")
    assert w.active()["id"] == "mtl-c-name"

    page = w.page
    page.get_by_label(kb.phrase("widget_field_name", "pl")).fill("Agnieszka Nowak <b>")
    page.get_by_label(kb.phrase("widget_field_email", "pl")).fill("agnieszka.nowak@example.com")
    page.get_by_label(re.compile(re.escape(kb.phrase("widget_field_phone", "pl")))).fill("+48 601 234 567")
    page.get_by_label(kb.phrase("widget_field_country", "pl")).fill("Polska")
    page.get_by_label(kb.phrase("widget_field_profession", "pl")).fill("pielęgniarka")
    page.get_by_label(kb.phrase("help_topic_work", "pl"), exact=True).check()
    page.get_by_label(kb.phrase("help_topic_housing", "pl"), exact=True).check()
    page.locator("move-to-lulea-chat #mtl-c-household").select_option("children")
    page.locator("move-to-lulea-chat #mtl-c-move_when").select_option("half_year")
    page.get_by_label(kb.phrase("widget_field_message", "pl")).fill("Szukam pracy w szpitalu w Luleå.")
    page.get_by_label(kb.phrase("consent_yes", "pl")).check()
    page.screenshot(path=str(artefacts / "desktop-contact-form.png"))
    form.get_by_role("button", name=kb.phrase("widget_send", "pl"), exact=True).click()

    code = page.locator("move-to-lulea-chat .reference-code")
    code.wait_for()
    reference = code.inner_text()
    assert re.fullmatch(r"ML-[0-9A-HJKMNP-TV-Z]{4}", reference)
    done = page.locator("move-to-lulea-chat .contact-done").inner_text()
    assert done.strip() == kb.phrase("lead_sent", "pl", name="Agnieszka Nowak <b>", reference=reference)
    page.screenshot(path=str(artefacts / "desktop-contact-sent.png"))

    with db.session_scope(stack.extra_env["MOVE_DATABASE_URL"]) as s:
        lead = s.scalars(select(Lead).where(Lead.reference == reference)).one()
        assert (lead.name, lead.email, lead.phone, lead.source) == ("Agnieszka Nowak <b>", "agnieszka.nowak@example.com", "+48601234567", "contact_form")
        assert sorted(t.topic for t in lead.topics) == ["housing", "work"]
        assert (lead.household, lead.move_when, lead.preferred_language, lead.chat_language) == ("children", "half_year", "pl", "pl")
        assert lead.consent.text == kb.phrase("ask_consent", "pl")


def test_talk_to_a_person_opens_the_contact_form_when_the_bot_is_down(widget_on, web_without_bot, kb):
    w = widget_on(f"{web_without_bot}/?lang=lv")
    w.launcher.click()
    w.page.locator("move-to-lulea-chat .msg.error").wait_for()
    w.page.get_by_role("button", name=kb.phrase("talk_to_person", "lv"), exact=True).click()
    w.page.locator("move-to-lulea-chat form.contact-form").wait_for()
    assert w.text(".overlay-title") == kb.phrase("widget_contact_title", "lv")
    # Escape closes the form (not the panel) and gives the focus back to the button that opened it.
    w.page.keyboard.press("Escape")
    assert w.page.locator("move-to-lulea-chat form.contact-form").count() == 0
    assert w.panel.is_visible()
    assert w.active()["text"].strip() == kb.phrase("talk_to_person", "lv")


# ---------------------------------------------------------------- keyboard only

def tab_until(w: Widget, predicate, limit: int = 60, shift: bool = False) -> dict:
    for _ in range(limit):
        w.page.keyboard.press("Shift+Tab" if shift else "Tab")
        focus = w.active()
        if predicate(focus):
            return focus
    raise AssertionError(f"focus never reached the target with {'Shift+' if shift else ''}Tab; last: {w.active()}")


def test_keyboard_only(widget_on, web, kb, artefacts):
    w = widget_on(f"{web}/?lang=en")
    w.page.keyboard.press("Tab")
    launcher = tab_until(w, lambda f: f["inWidget"] and "launcher" in f["cls"])
    assert launcher["outline"] != "none" and launcher["outlineWidth"] != "0px"  # visible focus
    w.page.keyboard.press("Enter")
    w.wait_for_bot(1)
    assert w.active()["id"] == "mtl-input"  # typing can start at once

    w.page.keyboard.type("How do I rent a flat in Luleå?")
    w.page.keyboard.press("Enter")
    w.wait_for_bot(2)
    assert w.active()["id"] == "mtl-input"
    # Back to the answer's quick replies with Shift+Tab, choose one with Enter.
    quick = tab_until(w, lambda f: f["inWidget"] and "quick" in f["cls"], shift=True)
    assert quick["outline"] != "none"
    w.page.screenshot(path=str(artefacts / "desktop-keyboard-focus.png"))
    w.page.keyboard.press("Enter")
    w.wait_for_bot(3)
    assert w.user.last.inner_text().strip().endswith(quick["text"].strip())

    # No keyboard trap: Tab leaves the widget for the page.
    tab_until(w, lambda f: not f["inWidget"] and f["tag"] == "a")

    # Back in, Escape closes the panel and the focus returns to the launcher.
    w.input.focus()
    w.page.keyboard.press("Escape")
    assert not w.panel.is_visible()
    focus = w.active()
    assert focus["inWidget"] and "launcher" in focus["cls"]
    assert w.launcher.get_attribute("aria-expanded") == "false"


# ---------------------------------------------------------------- layout: phone, zoom, keyboard, motion

def no_horizontal_overflow(w: Widget) -> bool:
    return w.js("""(root) => [...root.querySelectorAll('.conversation, .panel, .bubble, .overlay')]
                       .every(e => e.scrollWidth <= e.clientWidth + 1)""")


def inside_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5 \
        and box["y"] + box["height"] <= size["height"] + 0.5


def test_phone_320px_long_answer_and_on_screen_keyboard(widget_on, web, kb, artefacts):
    w = widget_on(f"{web}/?lang=lt", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    assert inside_viewport(w.page, w.launcher)
    w.page.screenshot(path=str(artefacts / "mobile-320-closed.png"))
    w.open()
    panel = w.panel.bounding_box()
    assert panel["width"] == pytest.approx(320, abs=1)
    w.ask("Kaip gauti personnummer?")
    more = w.quick_replies().filter(has_text=kb.phrase("more_details", "lt"))
    if more.count():
        w.click_and_wait(more.first)  # the longest texts: the details
    assert no_horizontal_overflow(w)
    assert inside_viewport(w.page, w.send_button)
    # The start of a long answer is in view, so it reads top-down.
    assert inside_viewport(w.page, w.last_bot().locator(".bubble > *").first)
    w.page.screenshot(path=str(artefacts / "mobile-320-answer.png"))

    # The on-screen keyboard takes the lower half: the input and the send button stay visible.
    w.input.focus()
    w.page.set_viewport_size({"width": 320, "height": 300})
    w.page.wait_for_function("() => window.visualViewport.height <= 300")
    w.page.wait_for_timeout(100)
    assert inside_viewport(w.page, w.send_button)
    assert inside_viewport(w.page, w.input)
    w.page.screenshot(path=str(artefacts / "mobile-320-keyboard-open.png"))


def test_200_percent_zoom(widget_on, web, artefacts):
    # 200 % zoom of a 1280 x 800 window is a 640 x 400 CSS-pixel viewport at twice the pixel density.
    w = widget_on(f"{web}/?lang=sv", viewport={"width": 640, "height": 400}, device_scale_factor=2)
    w.open()
    w.ask("Vad kostar förskola i Luleå?")
    for part in ("button.close", "select#mtl-lang", "button.restart", "button.send", "textarea#mtl-input"):
        assert inside_viewport(w.page, w.page.locator(f"move-to-lulea-chat {part}")), part
    assert no_horizontal_overflow(w)
    w.page.screenshot(path=str(artefacts / "desktop-zoom-200.png"))


def test_reduced_motion_stops_the_typing_animation(widget_on, web):
    moving = widget_on(f"{web}/", reduced_motion="no-preference")
    assert moving.js("(root) => getComputedStyle(root.querySelector('.dots span')).animationName") == "mtl-blink"
    still = widget_on(f"{web}/", reduced_motion="reduce")
    assert still.js("(root) => getComputedStyle(root.querySelector('.dots span')).animationName") == "none"


# ---------------------------------------------------------------- embedding on another site

HOSTILE_HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host site</title>
<style>
  * { font-family: "Comic Sans MS", cursive !important; color: #ff00ff !important; }
  button { display: none !important; font-size: 40px !important; }
  div, section, form, p { border: 5px dashed red !important; padding: 30px !important; }
  .launcher, .panel, textarea { display: none !important; }
  #host-button { display: inline-block !important; background: rgb(0, 128, 0) !important; }
</style></head>
<body><main><h1>A municipality page</h1><button id="host-button" type="button">Host button</button></main>
<script>window.hostGlobals = Object.keys(window);</script>
<script src="{widget}/widget.js" data-lang="en" defer></script></body></html>"""


@pytest.fixture()
def host_site(web):
    """A page on another origin (another port) with aggressive CSS, embedding the widget by one tag."""
    body = HOSTILE_HOST_PAGE.replace("{widget}", web).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join(timeout=10)


def test_embedding_on_another_site_without_clashes(widget_on, host_site, kb):
    w = widget_on(host_site)
    page = w.page
    # One global, nothing else.
    added = page.evaluate("() => Object.keys(window).filter(k => !window.hostGlobals.includes(k) && k !== 'hostGlobals')")
    assert added == ["MoveToLulea"]
    # The host page's CSS does not reach into the widget ...
    style = w.js("""(root) => { const s = getComputedStyle(root.querySelector('.launcher'));
                     return {display: s.display, color: s.color, font: s.fontFamily, size: s.fontSize}; }""")
    assert style["display"] != "none" and style["color"] == "rgb(255, 255, 255)" and "Comic" not in style["font"]
    assert style["size"] == "16px"
    # ... and the widget's CSS does not change the host page.
    assert page.evaluate("() => getComputedStyle(document.getElementById('host-button')).backgroundColor") == "rgb(0, 128, 0)"
    # It works across origins (CORS): ask and get an answer.
    w.open()
    assert w.input.is_visible()
    w.ask("Is SFI free?")
    assert w.last_bot().locator(".msg-title").inner_text() in {kb.title(t, "en") for t in kb.topics}


# ---------------------------------------------------------------- accessibility audit

def axe(page, context: str = "document") -> list[dict]:
    page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")  # not a <script> tag: the page's CSP allows no inline script
    result = page.evaluate(f"""async () => {{
        const r = await axe.run({context}, {{runOnly: {{type: 'tag', values: {json.dumps(WCAG_TAGS)}}}, resultTypes: ['violations']}});
        return r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help,
                                         nodes: v.nodes.map(n => ({{target: n.target, summary: n.failureSummary}}))}}));
    }}""")
    return result


def test_axe_finds_no_wcag_a_or_aa_violations_with_the_panel_open(widget_on, web, kb, artefacts):
    w = widget_on(f"{web}/?lang=pl")
    assert axe(w.page) == []  # closed: launcher only
    w.open()
    w.ask("Jak wynająć mieszkanie w Luleå?")
    assert axe(w.page) == []  # conversation with an answer, sources and quick replies
    w.page.screenshot(path=str(artefacts / "desktop-panel-open.png"))
    w.page.get_by_role("button", name=kb.phrase("browse_topics", "pl"), exact=True).click()
    w.page.locator("move-to-lulea-chat .topic-list button.topic").first.wait_for()
    assert axe(w.page) == []  # the topics menu
    w.page.screenshot(path=str(artefacts / "desktop-topics-menu.png"))
    w.page.keyboard.press("Escape")
    w.page.locator("move-to-lulea-chat .quick-replies").first.wait_for()


def test_axe_on_a_phone_with_the_contact_form_open(widget_on, web_without_bot, kb, artefacts):
    w = widget_on(f"{web_without_bot}/?lang=sv", viewport=PHONE, is_mobile=True, has_touch=True)
    w.launcher.click()
    w.page.locator("move-to-lulea-chat .msg.error").wait_for()
    assert axe(w.page) == []  # the error message with its buttons
    w.page.get_by_role("button", name=kb.phrase("widget_contact_open", "sv")).click()
    form = w.page.locator("move-to-lulea-chat form.contact-form")
    form.get_by_role("button", name=kb.phrase("widget_send", "sv"), exact=True).click()  # show the field errors too
    assert axe(w.page) == []
    w.page.screenshot(path=str(artefacts / "mobile-320-contact-form.png"), full_page=False)


# ---------------------------------------------------------------- the lead form in the chat

def test_the_lead_form_through_the_widget_stores_the_lead(widget_on, web, stack, kb, artefacts):
    """"Talk to a person": the chat's contact form (actions/lead_form.py), answered by typing and
    with its buttons, ends with a reference code; the lead is in the database."""
    from web.leads import db
    from web.leads.models import Lead

    w = widget_on(f"{web}/?lang=en")
    w.open()

    def press(title: str) -> None:
        button = w.quick_replies().filter(has_text=re.compile(f"^{re.escape(title)}$"))
        assert button.count() == 1, f"no button {title!r} under: {w.last_bot().inner_text()}"
        w.click_and_wait(button)

    def expect(key: str) -> None:
        assert kb.phrase(key, "en") in w.last_bot().inner_text(), f"expected {key}, got: {w.last_bot().inner_text()}"

    w.click_and_wait(w.page.get_by_role("button", name=kb.phrase("talk_to_person", "en"), exact=True))
    expect("ask_name")
    w.ask("Laura Bērziņa")
    expect("ask_email")
    w.ask("laura.berzina@example.lv")
    expect("ask_phone")
    press(kb.phrase("skip", "en"))
    expect("ask_country")
    w.ask("Latvia")
    expect("ask_profession")
    w.ask("software tester")
    expect("ask_topics")
    press(kb.phrase("help_topic_work", "en"))
    press(kb.phrase("help_topic_education", "en"))
    press(kb.phrase("help_done", "en"))
    expect("ask_household")
    press(kb.phrase("household_children", "en"))
    expect("ask_move_when")
    press(kb.phrase("move_later", "en"))
    expect("ask_language")
    w.click_and_wait(w.quick_replies().filter(has_text=re.compile("^English$", re.I)))
    expect("ask_message")
    press(kb.phrase("skip", "en"))
    expect("confirm_summary")
    assert "laura.berzina@example.lv" in w.last_bot().inner_text()
    press(kb.phrase("lead_confirm_ok", "en"))
    expect("ask_consent")
    w.page.screenshot(path=str(artefacts / "desktop-lead-form-consent.png"))
    press(kb.phrase("consent_yes", "en"))

    done = w.last_bot().inner_text()
    match = re.search(r"ML-[0-9A-HJKMNP-TV-Z]{4}", done)
    assert match, done
    assert kb.phrase("lead_sent", "en", name="Laura Bērziņa", reference=match.group(0)) in done
    w.page.screenshot(path=str(artefacts / "desktop-lead-form-sent.png"))
    with db.session_scope(stack.extra_env["MOVE_DATABASE_URL"]) as s:
        lead = s.scalars(select(Lead).where(Lead.reference == match.group(0))).one()
        assert (lead.name, lead.email, lead.phone, lead.country, lead.source) == (
            "Laura Bērziņa", "laura.berzina@example.lv", None, "LV", "chat")
        assert sorted(t.topic for t in lead.topics) == ["education", "work"]
        assert (lead.household, lead.move_when, lead.preferred_language) == ("children", "later", "en")
