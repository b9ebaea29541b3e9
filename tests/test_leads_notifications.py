"""New-lead email through the outbox, against a real local SMTP server (aiosmtpd): delivered when
the server is up; when it is down the lead is kept and the mail retried until it gets through."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

import settings
from tests.conftest import free_port
from tests.mail import Inbox
from web.leads import db
from web.leads.models import Lead, OutboxMessage, utcnow
from web.leads.notify import MailConfig, backoff, pending_count, send_due


class SmtpServer:
    """A real SMTP server on a fixed free port that a test can stop and start again."""

    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture()
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


def mail_config(port: int) -> MailConfig:
    return MailConfig(host="127.0.0.1", port=port, timeout_s=5, mail_from="assistant@lulea.se", notify_to="flytta@lulea.se",
                      public_url="https://move.lulea.se")


def outbox(url: str) -> list[OutboxMessage]:
    with db.session_scope(url) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_the_email_names_reference_country_topics_and_a_link_but_no_personal_details(leads_db, make_lead, smtp):
    smtp.start()
    reference = make_lead(name="Agnieszka Wiśniewska", email="agnieszka@example.pl", country="Poland", help_topics=("work", "housing"),
                          message="Szukam pracy", profession="pielęgniarka")
    report = send_due(mail_config(smtp.port), leads_db)
    assert (report.sent, report.failed) == (1, 0)
    [message], [recipients] = smtp.inbox.messages, smtp.inbox.recipients
    assert recipients == ["flytta@lulea.se"] and reference in message["Subject"]
    body = message.get_content()
    assert f"Reference: {reference}" in body and "Country: Poland" in body and "Topics: work, housing" in body
    assert f"https://move.lulea.se/staff/leads/{reference}" in body
    for private in ("Agnieszka", "Wiśniewska", "agnieszka@example.pl", "601", "Szukam", "pielęgniarka"):
        assert private not in body and private not in str(message)
    assert send_due(mail_config(smtp.port), leads_db).sent == 0  # sent once only
    assert outbox(leads_db)[0].sent_at is not None and pending_count(leads_db) == 0


def test_with_the_server_down_the_lead_is_kept_and_the_mail_delivered_when_it_returns(leads_db, make_lead, smtp):
    reference = make_lead()  # the SMTP server is not running
    report = send_due(mail_config(smtp.port), leads_db)
    assert (report.sent, report.failed) == (0, 1) and reference in report.errors[0]
    [row] = outbox(leads_db)
    assert row.attempts == 1 and row.sent_at is None and row.last_error and row.next_attempt_at > utcnow()
    with db.session_scope(leads_db) as s:
        assert s.scalar(select(Lead.reference)) == reference
    assert send_due(mail_config(smtp.port), leads_db).failed == 0  # not due again before the backoff
    later = utcnow() + backoff(1)
    assert send_due(mail_config(smtp.port), leads_db, now=later).failed == 1  # still down: backs off further
    assert outbox(leads_db)[0].next_attempt_at - later == backoff(2)
    smtp.start()
    report = send_due(mail_config(smtp.port), leads_db, now=later + backoff(2))
    assert report.sent == 1 and len(smtp.inbox.messages) == 1 and reference in smtp.inbox.messages[0]["Subject"]
    [row] = outbox(leads_db)
    assert row.sent_at is not None and row.attempts == 3 and row.last_error is None


def test_backoff_grows_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(50).total_seconds() == 3600


def test_an_erased_lead_is_never_mailed(leads_db, make_lead, smtp):
    from web.leads.retention import erase_lead

    reference = make_lead()
    with db.session_scope(leads_db) as s:
        erase_lead(s, s.scalar(select(Lead).where(Lead.reference == reference)), actor="test")
    smtp.start()
    assert send_due(mail_config(smtp.port), leads_db).sent == 0 and smtp.inbox.messages == []


def test_without_smtp_settings_nothing_is_sent_and_nothing_is_lost(leads_db, make_lead):
    make_lead()
    assert send_due(MailConfig(), leads_db).sent == 0
    assert pending_count(leads_db) == 1


def test_the_web_process_sends_in_a_background_thread(leads_db, make_lead, smtp):
    from web import create_app

    smtp.start()
    app = create_app({"DATABASE_URL": leads_db, "NOTIFY_INTERVAL_S": 0.2, "MAIL": mail_config(smtp.port)})
    reference = make_lead()
    app.test_client().get("/staff/login")  # the sender starts with the first request
    sender = app.extensions["lead_sender"]
    try:
        deadline = time.monotonic() + 30
        while not smtp.inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m["Subject"] for m in smtp.inbox.messages] == [f"New contact request {reference}"]
    finally:
        sender.stop()
        sender.join(timeout=10)


def test_send_notifications_command(leads_db, make_lead, smtp):
    reference = make_lead()
    env = {**os.environ, "MOVE_DATABASE_URL": leads_db, "MOVE_SMTP_HOST": "127.0.0.1", "MOVE_SMTP_PORT": str(smtp.port),
           "MOVE_LEADS_NOTIFY_TO": "flytta@lulea.se", "PYTHONPATH": str(settings.ROOT)}
    flask = [str(settings.ROOT / ".venv" / "app" / "bin" / "flask"), "--app", "web", "leads", "send-notifications"]
    down = subprocess.run(flask, env=env, capture_output=True, text=True, cwd=settings.ROOT, timeout=120)
    assert down.returncode == 0 and "sent 0, failed 1" in down.stdout and "still pending 1" in down.stdout
    smtp.start()
    with db.session_scope(leads_db) as s:  # make the retry due now
        s.scalar(select(OutboxMessage)).next_attempt_at = utcnow()
    up = subprocess.run(flask, env=env, capture_output=True, text=True, cwd=settings.ROOT, timeout=120)
    assert up.returncode == 0 and "sent 1, failed 0" in up.stdout, up.stderr
    assert reference in smtp.inbox.messages[0]["Subject"]
