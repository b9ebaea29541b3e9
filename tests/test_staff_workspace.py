"""The workspace as staff use it: the actions at the top of a lead, contact links, and an honest word
about emails waiting in the outbox."""

from __future__ import annotations

import pytest

from tests.conftest import create_staff, staff_login
from web.leads.notify import MailConfig


@pytest.fixture()
def client(staff_app, leads_db):
    create_staff(leads_db)
    create_staff(leads_db, "kollega@lulea.se", "another long password")
    c = staff_app.test_client()
    assert staff_login(c).status_code == 302
    return c


def html_of(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_status_assignment_and_note_come_before_the_details_and_the_conversation(client, make_lead):
    reference = make_lead(transcript=[{"who": "user", "text": "Hej " * 400, "at": None}] * 30)
    html = html_of(client, f"/staff/leads/{reference}")
    positions = [html.index(marker) for marker in ('id="work-heading"', 'name="status-status"', 'name="assign-staff_id"',
                                                   'name="note-body"', 'id="details-heading"', 'id="transcript-heading"')]
    assert positions == sorted(positions)


def test_email_and_phone_are_links_that_cannot_smuggle_headers(client, make_lead):
    reference = make_lead(email="agnieszka@example.pl", phone="+48 601 234 567")
    html = html_of(client, f"/staff/leads/{reference}")
    assert 'href="mailto:agnieszka@example.pl"' in html and 'href="tel:%2B48601234567"' in html
    odd = make_lead(email="odd?cc=boss#x@example.pl")  # a valid address: ? and # may stand in its local part
    html = html_of(client, f"/staff/leads/{odd}")
    assert 'href="mailto:odd%3Fcc=boss%23x@example.pl"' in html and "mailto:odd?cc" not in html


def test_without_a_mail_server_the_list_does_not_promise_automatic_retries(client, staff_app, make_lead):
    make_lead()
    staff_app.config["MAIL"] = MailConfig()  # nothing configured
    html = html_of(client, "/staff/leads")
    assert "1 email(s) not delivered yet" in html and "No mail server is configured" in html
    assert "retried automatically" not in html
    staff_app.config["MAIL"] = MailConfig(host="127.0.0.1", notify_to="flytta@lulea.se")
    staff_app.config["NOTIFY_INTERVAL_S"] = 15
    assert "retried automatically" in html_of(client, "/staff/leads")
    staff_app.config["NOTIFY_INTERVAL_S"] = 0
    html = html_of(client, "/staff/leads")
    assert "send-notifications" in html and "retried automatically" not in html
