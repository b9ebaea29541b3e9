"""The staff workspace in real headless Chromium (issue 14's "done when"): a lead walks from arrival to
"contacted" with a Polish reply received by a real local SMTP server, through a bulk assignment and
a merge of two duplicates; axe-core finds no WCAG A/AA violation on the list, a lead and the
insights page (desktop and phone); the list fits 1366 px without breaking a heading inside a word
and 390 px without sideways scrolling."""

from __future__ import annotations

import json

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.browser.conftest import AXE_JS
from tests.conftest import create_staff, free_port, lead_consent, lead_input, wait_until
from tests.mail import Inbox
from web.leads import db
from web.leads.models import Lead, StaffUser
from web.leads.notify import MailConfig
from web.leads.service import create_lead, record_turn

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LAPTOP = {"width": 1366, "height": 768}
PHONE_390 = {"width": 390, "height": 844}
PASSWORD = "a long enough password"


def axe(page) -> list[dict]:
    page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")  # not a <script> tag: the staff CSP allows none inline
    return page.evaluate(f"""async () => {{
        const r = await axe.run(document, {{runOnly: {{type: 'tag', values: {json.dumps(WCAG_TAGS)}}}, resultTypes: ['violations']}});
        return r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)}}));
    }}""")


@pytest.fixture()
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture()
def workspace(database, tracker_db, serve_app, smtp):
    """The web app on its own SQLite database, sending email every 0.3 s to the local SMTP server."""
    from web import create_app

    controller, _inbox = smtp
    mail = MailConfig(host="127.0.0.1", port=controller.port, timeout_s=5, mail_from="flytta@lulea.se", notify_to="team@lulea.se",
                      public_url="http://127.0.0.1")
    app = create_app({"TESTING": False, "DATABASE_URL": database, "TRACKER_DB": tracker_db, "NOTIFY_INTERVAL_S": 0.3, "MAIL": mail})
    create_staff(database, "anna.andersson@lulea.se", PASSWORD, language="sv")
    create_staff(database, "erik.lind@lulea.se", PASSWORD, language="sv")
    served = serve_app(app)
    yield served
    sender = app.extensions.get("lead_sender")
    if sender is not None:
        sender.stop()


def mails_to(inbox: Inbox, address: str) -> list:
    return [m for m, to in zip(list(inbox.messages), list(inbox.recipients), strict=False) if address in to]


def sign_in(page, base: str, email: str = "anna.andersson@lulea.se") -> None:
    page.goto(base + "/staff/login")
    page.get_by_label("E-post").fill(email)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url("**/staff/leads")


def lead_of(url: str, reference: str) -> Lead | None:
    with db.session_scope(url) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        if lead is not None:
            _ = lead.consents, lead.assigned_to, lead.history
        return lead


def test_a_lead_from_arrival_to_contacted_with_a_polish_reply_bulk_assign_and_merge(workspace, database, smtp, open_page, artefacts):
    _controller, inbox = smtp
    # Arrival: the mover hands over in the chat, later fills the contact form too (a duplicate), and someone else writes.
    chat = create_lead(lead_input(name="Agnieszka Wiśniewska", email="agnieszka@example.pl", phone=None, country="Polska",
                                  preferred_language="pl", source="chat"),
                       lead_consent("Zgadzam się, aby Luleå kommun przechowywała moje dane (czat).", "pl"), database_url=database)
    form = create_lead(lead_input(name="Agnieszka Wiśniewska", email="Agnieszka@Example.pl", phone="+48 601 234 567", country="Poland",
                                  preferred_language="pl", source="contact_form", message="Mam też pytanie o przedszkole."),
                       lead_consent("I agree that Luleå kommun stores my details (contact form).", "en"), database_url=database)
    other = create_lead(lead_input(name="Jonas Berg", email="jonas@example.se", phone=None, country="Sverige", preferred_language="sv"),
                        lead_consent(), database_url=database)
    page = open_page(workspace.url + "/staff/login", viewport=LAPTOP, locale="sv-SE")  # the sender starts with the first request
    sign_in(page, workspace.url)
    wait_until(lambda: len(mails_to(inbox, "team@lulea.se")) >= 3, "the team's new-lead emails")
    assert page.locator("h1").inner_text() == "Ärenden"
    assert page.locator("table.leads tbody tr").count() == 3

    # Bulk assign the mover's chat lead and Jonas's lead to Erik; Erik is told by email.
    page.locator(f"#sel-{chat}").check()
    page.locator(f"#sel-{other}").check()
    page.get_by_label("Tilldela de valda till").select_option(label="erik.lind@lulea.se")
    page.get_by_role("button", name="Tilldela", exact=True).first.click()
    page.wait_for_selector(".flash-success")
    assert "2 ärende(n) tilldelade erik.lind@lulea.se." in page.locator(".flash-success").inner_text()
    wait_until(lambda: len(mails_to(inbox, "erik.lind@lulea.se")) == 2, "the assignee's two emails")
    assert {chat, other} == {next(r for r in (chat, other) if r in m["Subject"]) for m in mails_to(inbox, "erik.lind@lulea.se")}
    page.get_by_role("link", name="Möjliga dubbletter").click()
    assert sorted(page.locator("input[name=ref]").evaluate_all("els => els.map(e => e.value)")) == sorted([chat, form])

    # Open the chat lead: the actions are at the top; merge the contact-form duplicate into it.
    page.get_by_role("link", name=chat).click()
    panel = page.locator("section.panel")
    assert panel.bounding_box()["y"] < page.locator("#details-heading").bounding_box()["y"]
    assert page.locator('a[href="mailto:agnieszka@example.pl"]').first.is_visible()
    page.get_by_role("button", name=f"Slå ihop {form} med det här ärendet").click()
    page.wait_for_selector(".flash-success")
    assert "båda samtyckena finns kvar" in page.locator(".flash-success").inner_text()
    assert "Samtycken (2, från sammanslagna ärenden)" in page.locator("#consent-heading").inner_text()
    merged = lead_of(database, chat)
    assert lead_of(database, form) is None and len(merged.consents) == 2 and merged.phone == "+48601234567"

    # Reply in Polish from the template; a script in the text stays text.
    page.get_by_label("Mall").select_option(label="Första svaret")
    assert page.get_by_label("Språk", exact=True).first.input_value() == "pl"  # the mover's language is preselected
    page.get_by_role("button", name="Utgå från mall").click()
    body = page.locator("#reply-body")
    text = body.input_value()
    assert text.startswith("Dzień dobry Agnieszka Wiśniewska,") and "[Tutaj wpisz odpowiedź.]" in text
    body.fill(text.replace("[Tutaj wpisz odpowiedź.]", "Kurs SFI jest bezpłatny. <script>window.__xss = 1</script>"))
    page.get_by_role("button", name="Skicka svar").click()
    page.wait_for_selector(".flash-success")
    replies = wait_until(lambda: mails_to(inbox, "agnieszka@example.pl"), "the Polish reply at the local SMTP server")
    [reply] = replies
    assert "Dzień dobry Agnieszka Wiśniewska," in reply.get_content() and "Kurs SFI jest bezpłatny." in reply.get_content()
    assert chat in reply["Subject"] and "Twoje zgłoszenie" in reply["Subject"]
    wait_until(lambda: lead_of(database, chat).status == "contacted", "the lead to become contacted")
    page.reload()
    assert "Kontaktad" in panel.locator(".summary").inner_text()
    assert "skickat" in page.locator(".thread .reply").first.inner_text()
    assert page.evaluate("() => window.__xss") is None and "<script>window.__xss" in page.locator(".thread .prewrap").first.inner_text()
    history = lead_of(database, chat).history
    assert (history[-1].from_status, history[-1].to_status) == ("new", "contacted")
    with db.session_scope(database) as s:
        anna = s.scalar(select(StaffUser.id).where(StaffUser.email == "anna.andersson@lulea.se"))
    assert history[-1].changed_by_id == anna
    page.screenshot(path=str(artefacts / "staff-lead-contacted.png"), full_page=True)


def test_axe_finds_no_violations_on_the_list_a_lead_and_insights(workspace, database, open_page, artefacts):
    for i, (name, country) in enumerate([("Łucja Żemaitytė-Bērziņa", "Lietuva"), ("Jānis Bērziņš", "Latvija"),
                                         ("Anna Nowak", "Polska")]):
        reference = create_lead(lead_input(name=name, email=f"mover{i}@example.pl", phone=None, country=country), lead_consent(),
                                [{"who": "user", "text": "Czy SFI jest darmowe?", "at": "2026-12-01T10:00:00Z"}], database_url=database)
    create_lead(lead_input(name="Anna Nowak", email="mover2@example.pl", phone=None), lead_consent(), database_url=database)  # a duplicate
    record_turn("s", "pl", "Czy mogę przywieźć psa?", "decline", None, database_url=database)
    record_turn("s", "pl", "Gdzie jest SFI?", "answer", "admin.sfi", database_url=database)
    for viewport, label in ((LAPTOP, "laptop"), (PHONE_390, "phone")):
        page = open_page(workspace.url + "/staff/login", viewport=viewport, locale="sv-SE")
        sign_in(page, workspace.url)
        for path in ("/staff/leads", f"/staff/leads/{reference}", "/staff/insights", "/staff/leads?view=overdue&q=%C5%BC"):
            page.goto(workspace.url + path)
            violations = axe(page)
            page.screenshot(path=str(artefacts / f"staff-{label}-{path.strip('/').replace('/', '-').split('?')[0]}.png"), full_page=True)
            assert violations == [], f"{label} {path}: {violations}"
        page.goto(workspace.url + f"/staff/leads/{reference}")
        page.get_by_role("button", name="English").click()  # the English pages too
        for path in ("/staff/leads", f"/staff/leads/{reference}", "/staff/insights"):
            page.goto(workspace.url + path)
            assert page.locator("html").get_attribute("lang") == "en"
            assert axe(page) == [], f"{label} {path} (English)"
        page.get_by_role("button", name="Svenska").click()


def test_the_list_fits_a_laptop_and_a_phone(workspace, database, open_page, artefacts):
    for i in range(3):
        create_lead(lead_input(name=f"Krzysztof Brzęczyszczykiewicz-Wiśniewski {i}", email=f"krzysztof.brzeczyszczykiewicz.{i}@przyklad.pl",
                               country="Polska"), lead_consent(), database_url=database)
    page = open_page(workspace.url + "/staff/login", viewport=LAPTOP, locale="sv-SE")
    sign_in(page, workspace.url)
    page.get_by_role("button", name="English").click()
    page.goto(workspace.url + "/staff/leads")
    broken = page.evaluate("""() => [...document.querySelectorAll('table.leads thead th')].filter(th => !th.querySelector('.visually-hidden')).filter(th => {
        const r = document.createRange(); r.selectNodeContents(th);
        const lines = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
        return lines.size > 1 || th.scrollWidth > th.clientWidth + 1; }).map(th => th.innerText)""")
    assert broken == []  # no heading wraps, let alone inside a word
    assert page.evaluate("() => document.documentElement.scrollWidth") <= LAPTOP["width"]
    page.screenshot(path=str(artefacts / "staff-list-1366.png"), full_page=True)

    phone = open_page(workspace.url + "/staff/login", viewport=PHONE_390, locale="sv-SE")
    sign_in(phone, workspace.url)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE_390["width"]
    card = phone.locator("table.leads tbody tr").first.bounding_box()
    assert card["width"] <= PHONE_390["width"] and card["x"] >= 0
    assert phone.locator("table.leads thead").evaluate("el => el.getBoundingClientRect().height") <= 1  # headings become labels
    labels = phone.locator("table.leads tbody tr").first.locator("td[data-label]").evaluate_all(
        "tds => tds.map(td => getComputedStyle(td, '::before').content)")
    assert '"Country"' in labels and '"Answer due"' in labels  # each value has its heading beside it (she chose English above)
    phone.screenshot(path=str(artefacts / "staff-list-390.png"), full_page=True)
    phone.locator("table.leads tbody tr a").first.click()  # a lead, and the insights, fit too
    assert phone.locator("section.panel").is_visible()
    for where in ("lead", "insights"):
        if where == "insights":
            phone.goto(workspace.url + "/staff/insights")
        wide = phone.evaluate("""() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 391)
                                       .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""")
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE_390["width"], (where, wide)
