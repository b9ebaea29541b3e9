"""Working the queue: each lead's age against the promised response time (working days), the "My
leads", "Unassigned" and "Overdue" views, the assignee told by email, bulk assign / status / close,
and duplicates (same email or phone) merged with both consent records kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import create_staff, csrf_token, lead_consent, staff_login, store_conversation
from tests.test_leads_notifications import SmtpServer, mail_config
from web.leads import db
from web.leads.models import AuditEntry, Lead, OutboxMessage, StaffUser, utcnow
from web.leads.notify import send_due
from web.leads.working_time import STAFF_TZ, due_at, overdue_since

XSS = "<script>alert('xss')</script>"


@pytest.fixture()
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def client(staff_app, leads_db, smtp):
    staff_app.config["MAIL"] = mail_config(smtp.port)
    create_staff(leads_db)
    create_staff(leads_db, "kollega@lulea.se", "another long password")
    c = staff_app.test_client()
    assert staff_login(c).status_code == 302
    return c


def html_of(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def refs_in(html: str) -> list[str]:
    return re.findall(r'name="ref" value="(ML-[0-9A-Z]{4})"', html)


def staff_id(url: str, email: str) -> int:
    with db.session_scope(url) as s:
        return s.scalar(select(StaffUser.id).where(StaffUser.email == email))


def set_lead(url: str, reference: str, **values) -> None:
    with db.session_scope(url) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        for key, value in values.items():
            setattr(lead, key, value)


def lead_row(url: str, reference: str) -> Lead | None:
    with db.session_scope(url) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        if lead is not None:
            _ = lead.consents, lead.notes, lead.history, lead.topics, lead.assigned_to
        return lead


def local(*args) -> datetime:
    return datetime(*args, tzinfo=STAFF_TZ)


def test_working_days_skip_the_weekend_and_the_overdue_filter_agrees():
    assert due_at(local(2026, 12, 4, 15, 0), 2) == local(2026, 12, 8, 15, 0)  # Friday -> Tuesday
    assert due_at(local(2026, 12, 1, 9, 30), 2) == local(2026, 12, 3, 9, 30)  # Tuesday -> Thursday
    assert due_at(local(2026, 12, 5, 10, 0), 2) == local(2026, 12, 9, 0, 0)  # Saturday: counted from Monday
    assert due_at(local(2026, 12, 1, 9, 30), 5) == local(2026, 12, 8, 9, 30)
    start = local(2026, 11, 27, 0, 0)
    for hours in range(0, 24 * 14, 7):  # overdue_since is the inverse of due_at
        arrived = start + timedelta(hours=hours, minutes=13)
        if arrived.weekday() < 5:
            assert overdue_since(due_at(arrived, 2), 2) == arrived


def test_the_list_shows_age_against_the_promise_and_the_overdue_view(client, staff_app, make_lead, leads_db):
    late, fresh, answered = make_lead(name="Late Lead"), make_lead(name="Fresh Lead"), make_lead(name="Answered Lead")
    set_lead(leads_db, late, created_at=utcnow() - timedelta(days=6))
    set_lead(leads_db, answered, created_at=utcnow() - timedelta(days=6), status="contacted")
    html = html_of(client, "/staff/leads")
    row = {ref: html[html.index(f'value="{ref}"'):][:900] for ref in (late, fresh, answered)}
    assert 'class="overdue">overdue since' in row[late] and "6 days old" in row[late]
    assert "overdue" not in row[fresh] and "by " in row[fresh] and "min old" in row[fresh]
    assert "answered" in row[answered] and "overdue" not in row[answered]
    assert refs_in(html_of(client, "/staff/leads?view=overdue")) == [late]
    assert "Overdue (1)" in html_of(client, "/staff/leads")
    assert "The answer is overdue" in html_of(client, f"/staff/leads/{late}")
    staff_app.config["RESPONSE_WORKING_DAYS"] = 10  # configurable (MOVE_RESPONSE_WORKING_DAYS)
    assert refs_in(html_of(client, "/staff/leads?view=overdue")) == []


def test_my_leads_and_unassigned(client, make_lead, leads_db):
    mine, theirs, nobodys, closed = make_lead(), make_lead(), make_lead(), make_lead()
    set_lead(leads_db, mine, assigned_to_id=staff_id(leads_db, "handlaggare@lulea.se"))
    set_lead(leads_db, theirs, assigned_to_id=staff_id(leads_db, "kollega@lulea.se"))
    set_lead(leads_db, closed, status="closed")
    assert refs_in(html_of(client, "/staff/leads?view=mine")) == [mine]
    assert refs_in(html_of(client, "/staff/leads?view=unassigned")) == [nobodys]
    html = html_of(client, "/staff/leads")
    assert "My leads (1)" in html and "Unassigned (1)" in html
    assert html_of(client, "/staff/leads?view=everything", 400)


def test_the_assignee_gets_an_email_without_the_movers_details(client, make_lead, leads_db, smtp):
    reference = make_lead(name="Agnieszka Wiśniewska", email="agnieszka@example.pl")
    detail = f"/staff/leads/{reference}"
    colleague = staff_id(leads_db, "kollega@lulea.se")
    assert client.post(f"{detail}/assign", data={"assign-staff_id": str(colleague),
                                                 "assign-csrf_token": csrf_token(client, detail)}).status_code == 302
    send_due(mail_config(smtp.port), leads_db)
    [mail] = [m for m, to in zip(smtp.inbox.messages, smtp.inbox.recipients, strict=True) if to == ["kollega@lulea.se"]]
    assert reference in mail["Subject"] and f"https://move.lulea.se/staff/leads/{reference}" in mail.get_content()
    assert "handlaggare@lulea.se assigned" in mail.get_content()
    assert "Wiśniewska" not in mail.as_string() and "agnieszka@example.pl" not in mail.as_string()
    create_staff(leads_db, "svensk@lulea.se", "a third long password", language="sv")  # in the assignee's language
    swede = staff_id(leads_db, "svensk@lulea.se")
    client.post(f"{detail}/assign", data={"assign-staff_id": str(swede), "assign-csrf_token": csrf_token(client, detail)})
    send_due(mail_config(smtp.port), leads_db)
    [swedish] = [m for m, to in zip(smtp.inbox.messages, smtp.inbox.recipients, strict=True) if to == ["svensk@lulea.se"]]
    assert swedish["Subject"] == f"Kontaktförfrågan {reference} har tilldelats dig" and "handlaggare@lulea.se har tilldelat dig" in swedish.get_content()
    me = staff_id(leads_db, "handlaggare@lulea.se")  # assigning to oneself mails nobody
    client.post(f"{detail}/assign", data={"assign-staff_id": str(me), "assign-csrf_token": csrf_token(client, detail)})
    with db.session_scope(leads_db) as s:
        assert [m.to_address for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "assigned"))] == \
            ["kollega@lulea.se", "svensk@lulea.se"]


def bulk(client, refs: list[str], **data):
    return client.post("/staff/leads/bulk", data={"ref": refs, **{f"bulk-{k}": v for k, v in data.items()},
                                                  "csrf_token": csrf_token(client, "/staff/leads")})


def test_bulk_assign_status_and_close(client, make_lead, leads_db, smtp):
    a, b, c = make_lead(), make_lead(), make_lead()
    colleague = staff_id(leads_db, "kollega@lulea.se")
    assert bulk(client, [a, b], action="assign", staff_id=str(colleague)).status_code == 302
    assert "Assigned 2 lead(s) to kollega@lulea.se." in html_of(client, "/staff/leads")
    assert [lead_row(leads_db, r).assigned_to_id for r in (a, b, c)] == [colleague, colleague, None]
    send_due(mail_config(smtp.port), leads_db)
    assert smtp.inbox.recipients.count(["kollega@lulea.se"]) == 2
    assert bulk(client, [a, c], action="status", status="in_progress").status_code == 302
    assert [lead_row(leads_db, r).status for r in (a, b, c)] == ["in_progress", "new", "in_progress"]
    assert bulk(client, [a, b, c], action="close").status_code == 302
    assert all(lead_row(leads_db, r).status == "closed" and lead_row(leads_db, r).closed_at for r in (a, b, c))
    assert [(h.from_status, h.to_status) for h in lead_row(leads_db, a).history][-2:] == [("new", "in_progress"), ("in_progress", "closed")]
    with db.session_scope(leads_db) as s:
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.action == "status")).all()) == 5


@pytest.mark.parametrize(("refs", "data", "message"), [
    ([], {"action": "close"}, "Select at least one lead first."),
    (["' OR 1=1 --", XSS, "x" * 5000], {"action": "close"}, "Select at least one lead first."),
    (["ML-ZZZZ"], {"action": "close"}, "None of the selected leads exists"),
    (None, {"action": "assign", "staff_id": "999999"}, "That action is not valid"),
    (None, {"action": "status", "status": "deleted"}, "That action is not valid"),
    (None, {"action": "drop table"}, "That action is not valid"),
])
def test_bad_bulk_requests_change_nothing(client, make_lead, leads_db, refs, data, message):
    reference = make_lead()
    response = bulk(client, [reference] if refs is None else refs, **data)
    assert response.status_code == 302
    html = html_of(client, "/staff/leads")
    assert message in html and "<script>alert" not in html
    lead = lead_row(leads_db, reference)
    assert (lead.status, lead.assigned_to_id) == ("new", None)


def test_duplicates_are_found_by_email_or_phone_and_merged_with_both_consents(client, make_lead, leads_db, staff_app, tracker_db):
    from web.api import issue_session

    with staff_app.app_context():
        first_session, second_session = issue_session(), issue_session()
    store_conversation(tracker_db, second_session, [("user", "Czy SFI jest darmowe?"), ("bot", "Tak.")], lang="pl")
    first = make_lead(email="anna.nowak@example.pl", phone=None, help_topics=("work",), session_id=first_session,
                      consent=lead_consent("Zgadzam się (czat).", "pl"))
    second = make_lead(email="Anna.Nowak@EXAMPLE.pl", phone="+48 601 234 567", help_topics=("housing",), message="Drugie pytanie",
                       session_id=second_session, consent=lead_consent("I agree (contact form).", "en"),
                       transcript=[{"who": "user", "text": "Czy SFI jest darmowe?", "at": None}])
    by_phone = make_lead(email="other@example.pl", phone="+48601234567")
    unrelated = make_lead(email="jonas@example.se", phone="+46 70 123 45 67")
    html = html_of(client, f"/staff/leads/{first}")
    assert "Possible duplicates" in html and f"Merge {second} into this lead" in html and unrelated not in html
    assert sorted(refs_in(html_of(client, "/staff/leads?view=duplicates"))) == sorted([first, second, by_phone])

    detail = f"/staff/leads/{first}"
    token = csrf_token(client, detail)
    bad = client.post(f"{detail}/merge", data={"merge-other": unrelated, "merge-csrf_token": token})
    assert bad.status_code == 400 and "is not a duplicate" in bad.get_data(as_text=True)
    for hostile in (XSS, first, "", "x" * 500):
        response = client.post(f"{detail}/merge", data={"merge-other": hostile, "merge-csrf_token": token})
        assert response.status_code == 400 and "<script>alert" not in response.get_data(as_text=True)
    assert client.post(f"{detail}/merge", data={"merge-other": second, "merge-csrf_token": token}).status_code == 302

    kept = lead_row(leads_db, first)
    assert lead_row(leads_db, second) is None and lead_row(leads_db, unrelated) is not None
    assert sorted(c.text for c in kept.consents) == ["I agree (contact form).", "Zgadzam się (czat)."]
    assert kept.topic_ids == ["work", "housing"] and kept.phone == "+48601234567"
    assert any("Drugie pytanie" in n.body for n in kept.notes) and kept.merged_sessions == [second_session]
    html = html_of(client, detail)
    assert "Consent records (2, from merged leads)" in html and "I agree (contact form)." in html
    html_of(client, f"/staff/leads/{second}", 404)
    with db.session_scope(leads_db) as s:
        merge_entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "merge"))
        assert merge_entry.reference == first and second in merge_entry.detail

    # erasing the kept lead erases the merged lead's conversation too
    erase = client.post(f"{detail}/erase", data={"erase-confirm": first, "erase-csrf_token": csrf_token(client, detail)})
    assert erase.status_code == 302
    history = staff_app.test_client().post("/api/history", json={"session": second_session})
    assert history.get_json()["messages"] == []


def test_a_merge_needs_a_csrf_token(client, make_lead, leads_db):
    a = make_lead(email="same@example.pl")
    b = make_lead(email="same@example.pl")
    assert client.post(f"/staff/leads/{a}/merge", data={"merge-other": b}).status_code == 400
    assert lead_row(leads_db, b) is not None


def test_ages_are_shown_in_swedish_time(client, make_lead, leads_db):
    reference = make_lead()
    arrived = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # Friday 15:00 in Luleå
    set_lead(leads_db, reference, created_at=arrived)
    html = html_of(client, f"/staff/leads/{reference}")
    assert "2026-12-08 15:00" in html  # due Tuesday 15:00 Swedish time
