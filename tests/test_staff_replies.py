"""Answering the mover from the lead page: a template in their language, sent through the outbox to a
real local SMTP server (with retries while it is down), the thread on the lead, and "contacted" once
the first reply is delivered."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import select

from tests.conftest import create_staff, csrf_token, staff_login
from tests.test_leads_notifications import SmtpServer, mail_config
from web.leads import db
from web.leads.models import AuditEntry, Lead, OutboxMessage, utcnow
from web.leads.notify import backoff, send_due
from web.staff import replies

XSS = "<script>alert('xss')</script>"


@pytest.fixture()
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture()
def client(staff_app, leads_db, smtp):
    staff_app.config["MAIL"] = mail_config(smtp.port)
    create_staff(leads_db)
    c = staff_app.test_client()
    assert staff_login(c).status_code == 302
    return c


def html_of(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def textarea(html: str, name: str) -> str:
    import html as html_lib

    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\r?\n?(.*?)</textarea>', html, re.S)
    assert match, name
    return html_lib.unescape(match.group(1))


def input_value(html: str, name: str) -> str:
    import html as html_lib

    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert match, name
    return html_lib.unescape(match.group(1))


def send_reply(client, reference: str, subject: str, body: str, lang: str = "pl"):
    detail = f"/staff/leads/{reference}"
    return client.post(f"{detail}/reply", data={"reply-lang": lang, "reply-subject": subject, "reply-body": body,
                                                "reply-csrf_token": csrf_token(client, detail)})


def lead_of(url: str, reference: str) -> Lead:
    with db.session_scope(url) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        _ = lead.history, lead.replies
        for change in lead.history:
            _ = change.changed_by
        return lead


def test_a_polish_reply_from_the_template_reaches_the_mover_and_the_lead_becomes_contacted(client, make_lead, leads_db, smtp):
    reference = make_lead(name="Agnieszka Wiśniewska", email="agnieszka@example.pl", preferred_language="pl")
    detail = f"/staff/leads/{reference}"
    html = html_of(client, detail)
    assert re.search(r'<option selected value="pl">', html)  # the picker starts in the mover's language
    html = html_of(client, f"{detail}?template=welcome&lang=pl")
    body, subject = textarea(html, "reply-body"), input_value(html, "reply-subject")
    assert body.startswith("Dzień dobry Agnieszka Wiśniewska,") and reference in body and reference in subject
    assert "[Tutaj wpisz odpowiedź.]" in body

    # the template's [write here] line must be replaced first
    response = send_reply(client, reference, subject, body)
    assert response.status_code == 400 and "square brackets" in response.get_data(as_text=True)
    body = body.replace("[Tutaj wpisz odpowiedź.]", "Kursy SFI są bezpłatne. Zadzwonimy w czwartek.")
    assert send_reply(client, reference, subject, body).status_code == 302
    html = html_of(client, detail)
    assert "waiting to be sent" in html and "Kursy SFI są bezpłatne." in html
    assert lead_of(leads_db, reference).status == "new"  # queued is not sent

    smtp.start()
    report = send_due(mail_config(smtp.port), leads_db)
    assert report.failed == 0
    mail = next(m for m, to in zip(smtp.inbox.messages, smtp.inbox.recipients, strict=True) if to == ["agnieszka@example.pl"])
    assert mail["Subject"] == subject and mail["From"] == "assistant@lulea.se"
    assert "Dzień dobry Agnieszka Wiśniewska," in mail.get_content() and "Kursy SFI są bezpłatne." in mail.get_content()
    lead = lead_of(leads_db, reference)
    assert lead.status == "contacted"
    assert (lead.history[-1].from_status, lead.history[-1].to_status, lead.history[-1].changed_by.email) == \
        ("new", "contacted", "handlaggare@lulea.se")
    html = html_of(client, detail)
    assert "sent " in html and "handlaggare@lulea.se" in html and "Contacted" in html
    with db.session_scope(leads_db) as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.reference == reference).order_by(AuditEntry.id)))
    assert "reply" in actions and "reply_sent" in actions and actions.index("reply") < actions.index("reply_sent")


def test_with_the_mail_server_down_the_reply_shows_the_failure_and_is_retried(client, make_lead, leads_db, smtp):
    reference = make_lead(preferred_language="lt")
    assert send_reply(client, reference, "Jūsų užklausa", "Laba diena, Ona", lang="lt").status_code == 302
    report = send_due(mail_config(smtp.port), leads_db)  # nobody listens on the port
    assert report.failed >= 1
    html = html_of(client, f"/staff/leads/{reference}")
    assert "not delivered yet (1 failed attempt:" in html and "next try" in html
    assert lead_of(leads_db, reference).status == "new"
    smtp.start()
    send_due(mail_config(smtp.port), leads_db, now=utcnow() + backoff(1))
    assert any(to == ["agnieszka@example.pl"] for to in smtp.inbox.recipients)
    assert lead_of(leads_db, reference).status == "contacted"
    assert "sent " in html_of(client, f"/staff/leads/{reference}")


def test_a_later_reply_does_not_change_a_status_staff_set(client, make_lead, leads_db, smtp):
    reference = make_lead()
    detail = f"/staff/leads/{reference}"
    client.post(f"{detail}/status", data={"status-status": "in_progress", "status-csrf_token": csrf_token(client, detail)})
    smtp.start()
    send_reply(client, reference, "Hej", "Hej igen", lang="sv")
    send_due(mail_config(smtp.port), leads_db)
    assert lead_of(leads_db, reference).status == "in_progress"


@pytest.mark.parametrize(("data", "message"), [
    ({"reply-subject": "", "reply-body": "x"}, "Write a subject."),
    ({"reply-subject": "x", "reply-body": " \x00 "}, "Write the message first."),
    ({"reply-subject": "x" * 300, "reply-body": "x"}, "Keep the subject under 200 characters."),
    ({"reply-subject": "x", "reply-body": "x" * 10_001}, "Keep the message under 10000 characters."),
    ({"reply-subject": "x", "reply-body": "x", "reply-lang": "de"}, "Not a valid choice"),
])
def test_bad_replies_get_a_clear_error_and_nothing_is_queued(client, make_lead, leads_db, data, message):
    reference = make_lead()
    detail = f"/staff/leads/{reference}"
    response = client.post(f"{detail}/reply", data={"reply-lang": "pl", **data, "reply-csrf_token": csrf_token(client, detail)})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with db.session_scope(leads_db) as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")).all() == []


def test_a_hostile_reply_is_inert_on_the_page_and_plain_text_in_the_email(client, make_lead, leads_db, smtp):
    reference = make_lead()
    hostile = f"{XSS}\r\nBcc: evil@example.com"
    assert send_reply(client, reference, hostile, f"{XSS}\n<img src=x onerror=alert(1)>").status_code == 302
    html = html_of(client, f"/staff/leads/{reference}")
    assert "<script>alert" not in html and "<img src=x" not in html and "&lt;script&gt;" in html
    smtp.start()
    send_due(mail_config(smtp.port), leads_db)
    [recipients] = [to for to in smtp.inbox.recipients if to == ["agnieszka@example.pl"]]
    mail = smtp.inbox.messages[smtp.inbox.recipients.index(recipients)]
    assert mail["Bcc"] is None and "evil@example.com" not in recipients  # the line break was removed, no header added
    assert mail.get_content_type() == "text/plain" and XSS in mail.get_content()


def test_a_reply_needs_a_staff_session_and_a_csrf_token(staff_app, client, make_lead, leads_db):
    reference = make_lead()
    data = {"reply-lang": "pl", "reply-subject": "x", "reply-body": "y"}
    assert client.post(f"/staff/leads/{reference}/reply", data=data).status_code == 400  # no token
    anonymous = staff_app.test_client()
    assert anonymous.post(f"/staff/leads/{reference}/reply", data=data).status_code in (302, 400, 401)
    with db.session_scope(leads_db) as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")).all() == []


def test_the_shipped_templates_are_valid_and_a_broken_copy_is_reported(tmp_path):
    templates, problems = replies.load()
    assert problems == [] and set(templates) == {"pl", "lt", "lv", "en", "sv"}
    assert {t for t in templates["pl"]} == {t for t in templates["sv"]} and "welcome" in templates["lv"]
    broken = tmp_path / "replies"
    shutil.copytree(replies.templates_dir(), broken)
    (broken / "lv.yml").write_text("welcome:\n  title: x\n  subject: 'a {password}'\n  body: b\n", encoding="utf-8")
    (broken / "lt.yml").write_text("{{{ not yaml", encoding="utf-8")
    (broken / "sv.yml").unlink()
    _, problems = replies.load(broken)
    text = "\n".join(problems)
    assert "sv.yml: missing" in text and "lt.yml: not valid YAML" in text and "unknown placeholder {password}" in text
    assert "lv.yml: template more_information is missing" in text
