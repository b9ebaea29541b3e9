"""The lead list and detail pages: filters, search, sorting, paging, every field shown (safely),
status, assignment, notes, audit log, CSV export (messages masked), erasure (with the conversation),
and hostile input to every form."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import create_staff, csrf_token, free_port, lead_consent, staff_login, store_conversation
from web.leads import db
from web.leads.models import AuditEntry, ChatTurn, Consent, Lead, Note, OutboxMessage, StatusChange, utcnow

XSS = "<script>alert('xss')</script>"
IMG = '"><img src=x onerror=alert(1)>'
DIACRITICS = "ąčęėįšųūž ā ē ī ķ ļ ņ ž ł ó ś ź ż"


@pytest.fixture()
def client(staff_app, leads_db):
    create_staff(leads_db)
    create_staff(leads_db, "kollega@lulea.se", "another long password")
    c = staff_app.test_client()
    assert staff_login(c).status_code == 302
    return c


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def refs_in(html: str) -> list[str]:
    return re.findall(r'name="ref" value="(ML-[0-9A-Z]{4})"', html)


def post(client, path: str, data: dict, token_page: str):
    prefix = next(iter(data)).split("-")[0] + "-" if "-" in next(iter(data)) else ""
    return client.post(path, data={**data, f"{prefix}csrf_token": csrf_token(client, token_page)})


def audit_actions(url: str, reference: str) -> list[str]:
    with db.session_scope(url) as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.reference == reference).order_by(AuditEntry.id)))


def test_every_field_renders_inert_in_list_detail_and_insights(client, make_lead, leads_db):
    from web.leads.service import record_turn

    hostile = f"{XSS}{IMG}{{{{7*7}}}}"
    consent = lead_consent(f"Consent {XSS}", "lv")
    reference = make_lead(name=hostile, country=hostile, profession=hostile, message=hostile, consent=consent, phone=None,
                          transcript=[{"who": "user", "text": hostile, "at": f"2026-11-27T10:00:00Z{XSS}"},
                                      {"who": "bot", "text": IMG, "at": "x"}])
    post(client, f"/staff/leads/{reference}/notes", {"note-body": hostile}, f"/staff/leads/{reference}")
    record_turn("s1", "lv", hostile, "decline", None, database_url=leads_db)
    for path in ("/staff/leads", f"/staff/leads/{reference}", f"/staff/leads?q={XSS}", "/staff/insights"):
        html = page(client, path)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "{{7*7}}" in html  # not evaluated as a template
    detail = page(client, f"/staff/leads/{reference}")
    assert detail.count("&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;") >= 7  # name, country, profession, message, 2 transcript, note, consent
    assert "<script" not in page(client, "/staff/insights")


def test_the_detail_page_shows_every_field_consent_transcript_and_logs_the_view(client, make_lead, leads_db, kb):
    reference = make_lead(name="Jūratė Kazlauskienė", email="jurate@pavyzdys.lt", phone="+370 612 34567", country="Lithuania",
                          profession="software tester", help_topics=("work", "education"), household="children", move_when="soon",
                          preferred_language="lt", chat_language="lt", message="Ar yra darželių?",
                          consent=lead_consent("Sutinku, kad mano duomenys būtų saugomi.", "lt"),
                          transcript=[{"who": "user", "text": "Ar yra darbo IT srityje?", "at": "2026-11-27T10:00:00Z"}])
    html = page(client, f"/staff/leads/{reference}")
    for text in ("Jūratė Kazlauskienė", "jurate@pavyzdys.lt", "+37061234567", "Lithuania", "software tester",
                 kb.phrase("help_topic_work", "en"), kb.phrase("help_topic_education", "en"), kb.phrase("household_children", "en"),
                 kb.phrase("move_soon", "en"), "Lithuanian", "Ar yra darželių?", "Sutinku, kad mano duomenys būtų saugomi.",
                 lead_consent("Sutinku, kad mano duomenys būtų saugomi.").version, "Ar yra darbo IT srityje?", "the chat"):
        assert text in html, text
    assert audit_actions(leads_db, reference) == ["create", "view"]
    assert page(client, "/staff/leads/ML-ZZZZ", 404)
    assert page(client, "/staff/leads/%27%20OR%201=1%20--", 404) and page(client, "/staff/leads/" + "X" * 3000, 404)
    assert page(client, "/staff/leads/ML-%00AB", 404)
    detail = f"/staff/leads/{reference}"
    assert post(client, "/staff/leads/ML-%00AB/notes", {"note-body": "x"}, detail).status_code == 404


def test_status_assignment_and_notes_are_kept_with_history_and_audit(client, make_lead, leads_db):
    reference = make_lead()
    detail = f"/staff/leads/{reference}"
    assert post(client, f"{detail}/status", {"status-status": "contacted"}, detail).status_code == 302
    assert post(client, f"{detail}/status", {"status-status": "closed"}, detail).status_code == 302
    with db.session_scope(leads_db) as s:
        colleague = s.scalar(select(func.max(Lead.id)))  # noqa: F841 - just to open the session
        from web.leads.models import StaffUser
        colleague_id = s.scalar(select(StaffUser.id).where(StaffUser.email == "kollega@lulea.se"))
    assert post(client, f"{detail}/assign", {"assign-staff_id": str(colleague_id)}, detail).status_code == 302
    assert post(client, f"{detail}/notes", {"note-body": "Called; will send info about SFI.\x07"}, detail).status_code == 302
    html = page(client, detail)
    assert "Closed" in html and "kollega@lulea.se" in html and "Called; will send info about SFI." in html
    with db.session_scope(leads_db) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        assert [(h.from_status, h.to_status) for h in lead.history] == [(None, "new"), ("new", "contacted"), ("contacted", "closed")]
        assert lead.closed_at is not None and lead.assigned_to.email == "kollega@lulea.se"
        assert [n.body for n in lead.notes] == ["Called; will send info about SFI."]
    assert audit_actions(leads_db, reference) == ["create", "view", "status", "view", "status", "view", "assign", "view", "note", "view"]


@pytest.mark.parametrize(("path", "data", "message"), [
    ("status", {"status-status": "deleted"}, "Not a valid choice"),
    ("status", {"status-status": ""}, "Choose a status."),
    ("assign", {"assign-staff_id": "999999"}, "Not a valid choice"),
    ("assign", {"assign-staff_id": "1 OR 1=1"}, "Not a valid choice"),
    ("notes", {"note-body": ""}, "Write the note first."),
    ("notes", {"note-body": " \x00\x1b "}, "Write the note first."),
    ("notes", {"note-body": "x" * 6000}, "Keep a note under 5000 characters."),
    ("erase", {"erase-confirm": ""}, "Type the reference to confirm."),
    ("erase", {"erase-confirm": "ML-0000"}, "exactly to confirm"),
    ("erase", {"erase-confirm": "' OR 1=1 --"}, "exactly to confirm"),
])
def test_hostile_input_to_lead_forms_gets_a_clear_error_and_changes_nothing(client, make_lead, leads_db, path, data, message):
    reference = make_lead()
    detail = f"/staff/leads/{reference}"
    response = post(client, f"{detail}/{path}", data, detail)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with db.session_scope(leads_db) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        assert lead is not None and lead.status == "new" and lead.assigned_to_id is None and lead.notes == []


def test_filters_search_sort_and_pages(client, leads_db, make_lead):
    a = make_lead(name="Anna Nowak", email="anna@example.pl", country="Poland", help_topics=("work",), preferred_language="pl")
    b = make_lead(name="Bērziņš Jānis", email="janis@piemers.lv", country="Latvia", help_topics=("housing",), preferred_language="lv")
    c = make_lead(name="Cezary_50%", email="cezary@example.pl", country="Poland", help_topics=("education", "housing"),
                  preferred_language="en")
    with db.session_scope(leads_db) as s:  # a is older, and contacted
        lead = s.scalar(select(Lead).where(Lead.reference == a))
        lead.created_at = utcnow() - timedelta(days=40)
        lead.status = "contacted"
    assert sorted(refs_in(page(client, "/staff/leads"))) == sorted([a, b, c])
    assert refs_in(page(client, "/staff/leads?status=contacted")) == [a]
    assert sorted(refs_in(page(client, "/staff/leads?country=PL"))) == sorted([a, c])
    assert sorted(refs_in(page(client, "/staff/leads?topic=housing"))) == sorted([b, c])
    assert refs_in(page(client, "/staff/leads?language=lv")) == [b]
    since = (utcnow() - timedelta(days=2)).date().isoformat()
    assert sorted(refs_in(page(client, f"/staff/leads?date_from={since}"))) == sorted([b, c])
    until = (utcnow() - timedelta(days=30)).date().isoformat()
    assert refs_in(page(client, f"/staff/leads?date_to={until}")) == [a]
    assert refs_in(page(client, "/staff/leads?q=nowak")) == [a]
    assert refs_in(page(client, "/staff/leads?q=PIEMERS.LV")) == [b]
    assert refs_in(page(client, f"/staff/leads?q={c.lower()}")) == [c]
    assert refs_in(page(client, "/staff/leads?q=_50%25")) == [c]  # LIKE wildcards are literal
    assert refs_in(page(client, "/staff/leads?q=%25")) == [c]
    assert refs_in(page(client, "/staff/leads?sort=name&direction=asc")) == [a, b, c]
    assert refs_in(page(client, "/staff/leads?sort=name&direction=desc")) == [c, b, a]
    assert refs_in(page(client, "/staff/leads?sort=created&direction=asc"))[0] == a
    client.application.config["STAFF_PAGE_SIZE"] = 2
    first, second = page(client, "/staff/leads?sort=name&direction=asc"), page(client, "/staff/leads?sort=name&direction=asc&page=2")
    assert refs_in(first) == [a, b] and refs_in(second) == [c] and "Page 2 of 2" in second and "Next page" in first
    assert refs_in(page(client, "/staff/leads?sort=name&direction=asc&page=99")) == [c]


@pytest.mark.parametrize("query", [
    "status=bogus", "topic=<script>", "language=de", "date_from=yesterday", "date_from=2026-02-31", "sort=password_hash",
    "direction=sideways", "q=" + "x" * 500, "date_from=2026-05-01&date_to=2026-04-01", "status=%00", "date_from=%00", "sort=%00",
])
def test_bad_filters_get_a_clear_error_and_are_ignored(client, make_lead, query):
    reference = make_lead()
    html = page(client, f"/staff/leads?{query}", 400)
    assert "Some filters were not valid" in html and refs_in(html) == [reference] and "<script>" not in html


@pytest.mark.parametrize("query", ["page=-3", "page=abc", "q=' OR 1=1 --", "q=\x00\x1b", "q=%00", "country=Nowhere", "country=Pol%00and"])
def test_odd_but_harmless_queries_just_work(client, make_lead, query):
    make_lead()
    html = page(client, f"/staff/leads?{query}")
    assert "Leads" in html


def test_csv_export_round_trips_diacritics_for_excel(client, make_lead, leads_db, kb):
    name = f"Łucja Žemaitytė-Bērziņa {DIACRITICS}"
    reference = make_lead(name=name, country="Latvija", profession=f"ārste {DIACRITICS}", message=f"{DIACRITICS}\n2nd line; \"quoted\"")
    formula = make_lead(name="=HYPERLINK(\"http://evil\")", message="@SUM(1)")
    make_lead(name="Not exported")
    response = client.post("/staff/leads/export", data={"ref": [reference, formula], "scope": "selected",
                                                        "csrf_token": csrf_token(client, "/staff/leads")})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM makes Excel read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2
    row = next(r for r in rows if r["reference"] == reference)
    assert row["name"] == name and row["profession"] == f"ārste {DIACRITICS}" and row["country"] == "Latvia"
    assert row["message"] == f"{DIACRITICS}\n2nd line; \"quoted\"" and row["phone"] == '="+48601234567"'  # text in Excel
    assert row["help_topics"] == f'{kb.phrase("help_topic_work", "en")}, {kb.phrase("help_topic_housing", "en")}'
    assert row["consent_version"] == lead_consent().version
    evil = next(r for r in rows if r["reference"] == formula)
    assert evil["name"] == "'=HYPERLINK(\"http://evil\")" and evil["message"] == "'@SUM(1)"
    assert audit_actions(leads_db, reference)[-1] == "export"


def test_export_all_matching_the_filter_and_nothing_selected(client, make_lead):
    pl = make_lead(country="Poland")
    make_lead(country="Lithuania")
    response = client.post("/staff/leads/export?country=PL", data={"scope": "filtered", "csrf_token": csrf_token(client, "/staff/leads")})
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
    assert [r["reference"] for r in rows] == [pl]
    empty = client.post("/staff/leads/export", data={"scope": "selected", "csrf_token": csrf_token(client, "/staff/leads")})
    assert empty.status_code == 302 and "Select at least one lead" in page(client, "/staff/leads")
    hostile = client.post("/staff/leads/export", data={"scope": "selected", "ref": ["' OR 1=1 --", XSS, "x" * 5000, "\x00"],
                                                       "csrf_token": csrf_token(client, "/staff/leads")})
    assert hostile.status_code == 302 and "Select at least one lead" in page(client, "/staff/leads")
    gone = client.post("/staff/leads/export", data={"scope": "selected", "ref": ["ML-ZZZZ"], "csrf_token": csrf_token(client, "/staff/leads")})
    assert gone.status_code == 302 and "Nothing was exported" in page(client, "/staff/leads")
    odd_scope = client.post("/staff/leads/export", data={"scope": "everything; DROP", "ref": [pl], "csrf_token": csrf_token(client, "/staff/leads")})
    assert [r["reference"] for r in csv.DictReader(io.StringIO(odd_scope.get_data().decode("utf-8-sig")), delimiter=";")] == [pl]


def test_erasing_a_lead_leaves_only_an_anonymous_audit_stub(client, make_lead, leads_db):
    reference = make_lead(name="Erase Me", email="erase.me@example.pl",
                          transcript=[{"who": "user", "text": "hello", "at": "2026-11-27T10:00:00Z"}])
    keep = make_lead(name="Keep Me")
    detail = f"/staff/leads/{reference}"
    post(client, f"{detail}/notes", {"note-body": "private note about Erase Me"}, detail)
    response = post(client, f"{detail}/erase", {"erase-confirm": reference.lower()}, detail)
    assert response.status_code == 302
    assert "was erased" in page(client, "/staff/leads")
    page(client, detail, 404)
    with db.session_scope(leads_db) as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
        for model in (Consent, Note, StatusChange, OutboxMessage):
            assert s.scalar(select(func.count()).select_from(model).where(model.lead_id != s.scalar(select(Lead.id)))) == 0
        stub = s.scalars(select(AuditEntry).where(AuditEntry.reference == reference)).all()
        assert [e.action for e in stub][-1] == "erase" and all(e.lead_id is None for e in stub)
        dump = " ".join(f"{e.actor} {e.action} {e.detail}" for e in s.scalars(select(AuditEntry)))
    assert "Erase Me" not in dump and "erase.me@example.pl" not in dump and "private note" not in dump
    assert keep in refs_in(page(client, "/staff/leads"))


def test_the_message_is_masked_on_the_page_and_in_the_csv_also_for_leads_stored_before(client, make_lead, leads_db):
    """Leads stored before messages were masked still hold identity numbers and addresses: the lead page
    and the export mask them as they are read."""
    fresh = make_lead(message="PESEL 44051401359, ul. Długa 5")
    old = make_lead()
    raw = "Mitt personnummer är 19900101-1234 och jag bor på Storgatan 12. Brīvības iela 10, personas kods 010185-12345"
    with db.session_scope(leads_db) as s:
        s.scalar(select(Lead).where(Lead.reference == old)).message = raw
    html = page(client, f"/staff/leads/{old}")
    assert "19900101-1234" not in html and "Storgatan 12" not in html and "010185-12345" not in html
    assert "Mitt personnummer är [id number] och jag bor på [address]. [address], personas kods [id number]" in html
    response = client.post("/staff/leads/export", data={"ref": [fresh, old], "scope": "selected",
                                                        "csrf_token": csrf_token(client, "/staff/leads")})
    rows = {r["reference"]: r for r in csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";")}
    assert rows[fresh]["message"] == "PESEL [id number], [address]"
    assert rows[old]["message"] == "Mitt personnummer är [id number] och jag bor på [address]. [address], personas kods [id number]"
    assert rows[old]["email"] == "agnieszka@example.pl" and rows[old]["phone"] == '="+48601234567"'  # the contact fields stay


def tracker_rows(tracker_db: str, sender: str) -> int:
    with sqlite3.connect(tracker_db) as conn:
        found = conn.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]
    conn.close()
    return found


def test_erasing_a_lead_deletes_its_conversation(client, staff_app, make_lead, leads_db, tracker_db):
    """GDPR erasure: the conversation the lead came from goes too, from Rasa's tracker store (so
    /api/history shows nothing for its session) and from the chat turns kept for insights."""
    from web.api import issue_session
    from web.leads.service import record_turn

    with staff_app.app_context():
        session, other = issue_session(), issue_session()
    store_conversation(tracker_db, session, [("user", "Jak wynająć mieszkanie? Mój PESEL 44051401359"), ("bot", "Mieszkanie ..."),
                                             ("user", "Chcę porozmawiać z kimś"), ("bot", "Jak masz na imię?")], lang="pl")
    store_conversation(tracker_db, other, [("user", "Is SFI free?"), ("bot", "Yes.")])
    for sid in (session, other):
        record_turn(sid, "pl", "Jak wynająć mieszkanie?", "answer", "housing.rent", database_url=leads_db)
    reference = make_lead(session_id=session, transcript=[{"who": "user", "text": "Jak wynająć mieszkanie?", "at": None}])
    history = staff_app.test_client().post("/api/history", json={"session": session})
    assert len(history.get_json()["messages"]) == 4  # before: the whole chat

    detail = f"/staff/leads/{reference}"
    assert post(client, f"{detail}/erase", {"erase-confirm": reference}, detail).status_code == 302

    history = staff_app.test_client().post("/api/history", json={"session": session})
    assert history.status_code == 200 and history.get_json()["messages"] == []
    assert tracker_rows(tracker_db, session) == 0
    assert tracker_rows(tracker_db, other) == 3  # other conversations stay
    assert len(staff_app.test_client().post("/api/history", json={"session": other}).get_json()["messages"]) == 2
    with db.session_scope(leads_db) as s:
        assert [t.session_id for t in s.scalars(select(ChatTurn))] == [other]
    assert audit_actions(leads_db, reference)[-1] == "erase"


def test_a_lead_is_not_erased_while_the_tracker_store_cannot_be_reached(client, staff_app, make_lead, leads_db):
    """The conversation goes first: if it cannot be deleted, nothing is erased and staff are told to try again."""
    staff_app.config["TRACKER_DB"] = f"postgresql://move@127.0.0.1:{free_port()}/move_tracker"
    reference = make_lead(session_id="abcdefghijklmnop" + "x" * 43)
    detail = f"/staff/leads/{reference}"
    response = post(client, f"{detail}/erase", {"erase-confirm": reference}, detail)
    assert response.status_code == 503 and "could not be erased" in response.get_data(as_text=True)
    page(client, detail)  # still there
    assert "erase" not in audit_actions(leads_db, reference)
