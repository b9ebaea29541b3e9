"""The lead store: create_lead validates, stores durably (seen by another process at once), hands out
unique reference codes and masks personal data in chat text. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select

import settings
from tests.conftest import lead_consent, lead_input
from web.leads import db, service
from web.leads.models import AuditEntry, ChatTurn, Lead, OutboxMessage
from web.leads.retention import erase_lead
from web.leads.service import LeadError, consent_version, create_lead, mask_personal_data, record_turn
from web.leads.validation import normalise_email, normalise_phone

REFERENCE_RE = re.compile(r"^ML-[0-9A-HJKMNP-TV-Z]{4}$")

READ_BACK = """
import json, sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.connect() as c:
    row = c.execute(text("select l.name, l.email, l.phone, l.status, c.version, c.lang, c.text "
                         "from leads l join consents c on c.lead_id = l.id where l.reference = :r"), {"r": sys.argv[2]}).one()
print(json.dumps(list(row)))
"""


def count(url: str, model) -> int:
    with db.session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_new_process_sees_the_lead_with_its_consent_right_after_create_lead_returns(leads_db):
    consent = lead_consent("Zgadzam się na przechowywanie moich danych przez gminę Luleå.", "pl")
    reference = create_lead(lead_input(), consent, database_url=leads_db)
    assert REFERENCE_RE.match(reference)
    out = subprocess.run([sys.executable, "-c", READ_BACK, leads_db, reference], capture_output=True, text=True, cwd=settings.ROOT, check=True)
    name, email, phone, status, version, lang, text = json.loads(out.stdout)
    assert (name, email, phone, status) == ("Agnieszka Wiśniewska", "agnieszka@example.pl", "+48601234567", "new")
    assert (version, lang, text) == (consent_version(consent.text), "pl", consent.text)


def test_a_lead_comes_with_a_pending_notification_and_an_audit_entry(leads_db, make_lead):
    reference = make_lead()
    with db.session_scope(leads_db) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        assert lead.topic_ids == ["work", "housing"]
        assert [h.to_status for h in lead.history] == ["new"]
        outbox = s.scalars(select(OutboxMessage).where(OutboxMessage.lead_id == lead.id)).all()
        assert len(outbox) == 1 and outbox[0].sent_at is None
        audit = s.scalars(select(AuditEntry).where(AuditEntry.reference == reference)).all()
        assert [a.action for a in audit] == ["create"]


def test_the_transcript_is_stored_with_personal_data_masked(leads_db, make_lead):
    transcript = [
        {"who": "bot", "text": "Hi! How can I help?", "at": "2026-11-27T10:00:00Z"},
        {"who": "user", "text": "I'm anna@example.com, +48 601 234 567, PESEL 44051401359", "at": "2026-11-27T10:00:05Z"},
    ]
    reference = make_lead(transcript=transcript, session_id="abc123abc123abc123")
    with db.session_scope(leads_db) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        stored = lead.transcript
        assert lead.session_id == "abc123abc123abc123"
    assert stored[0] == transcript[0]
    assert stored[1]["who"] == "user" and stored[1]["at"] == "2026-11-27T10:00:05Z"
    assert "anna@example.com" not in stored[1]["text"] and "601" not in stored[1]["text"] and "44051401359" not in stored[1]["text"]
    assert "[email]" in stored[1]["text"] and "[phone]" in stored[1]["text"] and "[id number]" in stored[1]["text"]


def test_reference_codes_are_unique_even_when_the_random_draw_repeats(leads_db, monkeypatch):
    draws = iter(["ML-AAAA", "ML-AAAA", "ML-BBBB", "ML-BBBB", "ML-CCCC"])
    monkeypatch.setattr(service, "new_reference", lambda: next(draws))
    first = create_lead(lead_input(), lead_consent(), database_url=leads_db)
    second = create_lead(lead_input(), lead_consent(), database_url=leads_db)
    # an erased lead leaves its reference in the audit log: it is never handed out again
    with db.session_scope(leads_db) as s:
        erase_lead(s, s.scalar(select(Lead).where(Lead.reference == "ML-BBBB")), actor="test")
    third = create_lead(lead_input(), lead_consent(), database_url=leads_db)
    assert (first, second, third) == ("ML-AAAA", "ML-BBBB", "ML-CCCC")


def test_many_leads_get_distinct_well_formed_codes(leads_db, make_lead):
    refs = [make_lead() for _ in range(40)]
    assert len(set(refs)) == 40 and all(REFERENCE_RE.match(r) for r in refs)


def test_leads_stored_from_several_threads_at_once_are_all_kept(leads_db):
    refs, errors = [], []

    def worker(i: int) -> None:
        try:
            refs.append(create_lead(lead_input(name=f"Mover {i}"), lead_consent(), database_url=leads_db))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(refs)) == 8
    assert count(leads_db, Lead) == 8


@pytest.mark.parametrize(("overrides", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"email": ""}, "email"),
    ({"email": "a@b.pl\n<script>"}, "email"),
    ({"phone": "601 234 567"}, "phone"),  # no country code
    ({"phone": "+48 12"}, "phone"),
    ({"name": "   "}, "name"),
    ({"name": "\x00\x07\u200b"}, "name"),
    ({"name": "x" * 5000}, "name"),
    ({"country": ""}, "country"),
    ({"help_topics": ()}, "help_topics"),
    ({"help_topics": ("work", "drop table leads")}, "help_topics"),
    ({"help_topics": "work"}, "help_topics"),
    ({"household": "many"}, "household"),
    ({"move_when": None}, "move_when"),
    ({"preferred_language": "de"}, "preferred_language"),
    ({"chat_language": "<script>"}, "chat_language"),
    ({"source": "api"}, "source"),
    ({"message": "m" * 10000}, "message"),
])
def test_invalid_lead_data_is_refused_with_the_field_named_and_nothing_stored(leads_db, overrides, field):
    with pytest.raises(LeadError) as info:
        create_lead(lead_input(**overrides), lead_consent(), database_url=leads_db)
    assert info.value.field == field and info.value.message
    assert count(leads_db, Lead) == 0 and count(leads_db, OutboxMessage) == 0


def test_a_consent_whose_version_does_not_match_its_text_is_refused(leads_db):
    good = lead_consent()
    bad = type(good)(text=good.text + " (edited)", lang=good.lang, given_at=good.given_at, version=good.version)
    with pytest.raises(LeadError) as info:
        create_lead(lead_input(), bad, database_url=leads_db)
    assert info.value.field == "consent.version"
    with pytest.raises(LeadError):
        create_lead(lead_input(), type(good)(text="", lang="en", given_at=good.given_at, version=consent_version("")), database_url=leads_db)
    assert count(leads_db, Lead) == 0


def test_nul_bytes_and_control_characters_never_reach_the_database(leads_db):
    with pytest.raises(LeadError) as info:
        create_lead(lead_input(), lead_consent("I agree\x00"), database_url=leads_db)
    assert info.value.field == "consent"
    with pytest.raises(LeadError) as info:
        create_lead(lead_input(), lead_consent(), session_id="abc\x00def", database_url=leads_db)
    assert info.value.field == "session_id"
    reference = create_lead(lead_input(name="Ann\x00a", country="Pol\x00and", profession="\x00", message="\x00"),
                            lead_consent(), [{"who": "user", "text": "hi\x00", "at": "\x00"}], database_url=leads_db)
    record_turn("s\x00", "p\x00l", "pyt\x00anie", "dec\x00line", "to\x00pic", database_url=leads_db)
    with db.session_scope(leads_db) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        assert (lead.name, lead.country, lead.profession, lead.message) == ("Anna", "PL", "", None)  # the country as its ISO code
        turn = s.scalar(select(ChatTurn))
        assert (turn.session_id, turn.lang, turn.text, turn.decision, turn.topic) == ("s", "pl", "pytanie", "decline", "topic")


def test_hostile_text_is_stored_verbatim_without_control_characters(leads_db, make_lead):
    name = "<script>alert(1)</script>'; DROP TABLE leads; --\x00\x1b[31m"
    reference = make_lead(name=name, phone=None, message="line 1\r\nline 2\x07")
    with db.session_scope(leads_db) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        assert lead.name == "<script>alert(1)</script>'; DROP TABLE leads; --[31m"
        assert lead.message == "line 1\nline 2" and lead.phone is None
    assert count(leads_db, Lead) == 1


def test_record_turn_masks_text_and_never_raises(leads_db):
    record_turn("s1", "sv", "ring mig på 070-123 45 67, pnr 19850101-1234", "decline", None, database_url=leads_db)
    record_turn("s1", "sv", "Vad kostar SFI?", "answer", "education.swedish-language", database_url=leads_db)
    record_turn("s1", "sv", "x", "answer", None, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")  # unreachable: ignored
    with db.session_scope(leads_db) as s:
        turns = s.scalars(select(ChatTurn).order_by(ChatTurn.id)).all()
        assert [t.text for t in turns] == ["ring mig på [phone], pnr [id number]", "Vad kostar SFI?"]
        assert [t.decision for t in turns] == ["decline", "answer"]


def test_normalise_email_and_phone():
    assert normalise_email("  Ola.Nordmann@Example.COM ") == "Ola.Nordmann@example.com"
    assert normalise_email("jūratė@pavyzdys.lt") == "jūratė@pavyzdys.lt"
    assert normalise_email("no at sign") is None and normalise_email("a@b") is None and normalise_email("") is None
    assert normalise_phone("+48 601-234-567") == "+48601234567"
    assert normalise_phone("+370 612 34567") == "+37061234567"
    assert normalise_phone("+371 2123 4567") == "+37121234567"
    assert normalise_phone("+46 70 123 45 67") == "+46701234567"
    assert normalise_phone("0701234567") is None and normalise_phone("+1") is None and normalise_phone("call me") is None


def test_mask_personal_data_keeps_ordinary_text_and_reference_codes():
    text = "Is SFI free in 2025? My code is ML-7K3Q, rent is about 8 000 kr."
    assert mask_personal_data(text) == text
    assert mask_personal_data("mail: jan.kowalski@wp.pl") == "mail: [email]"
    assert mask_personal_data("asmens kodas 38501011234") == "asmens kodas [id number]"
    assert mask_personal_data("personas kods 010185-12345") == "personas kods [id number]"
    assert mask_personal_data("tālrunis +371 2123 4567") == "tālrunis [phone]"


@pytest.mark.parametrize("written, masked", [
    ("Bor på Storgatan 12, 972 31 Luleå", "Bor på [address], 972 31 Luleå"),
    ("Kungsvägen 3B lgh 1101", "[address]"),
    ("Mieszkam przy ul. Długa 5, Kraków", "Mieszkam przy [address], Kraków"),
    ("na ulicy Długiej 5/3", "na [address]"),
    ("Gyvenu Gedimino pr. 9, Vilnius", "Gyvenu [address], Vilnius"),
    ("Vilniaus g. 10-5", "[address]"),
    ("Dzīvoju Brīvības iela 10, Rīga", "Dzīvoju [address], Rīga"),
    ("Brīvības ielā 10 dz. 4", "[address]"),
    ("221B Baker Street, London", "[address], London"),
])
def test_mask_personal_data_masks_street_addresses(written, masked):
    assert mask_personal_data(written) == masked


@pytest.mark.parametrize("text", ["på vägen 5 minuter", "Mam 3 dzieci, 5 i 7 lat", "we have 2 kids and 3 dogs",
                                  "Turime 2 vaikus", "Man ir 2 bērni", "Stationsgatan is where the town hall is"])
def test_ordinary_sentences_with_numbers_are_not_taken_for_addresses(text):
    assert mask_personal_data(text) == text


def test_the_leads_own_message_is_stored_with_identity_numbers_and_addresses_masked(leads_db, make_lead):
    message = ("Mój PESEL 44051401359, personnummer 19900101-1234, asmens kodas 38501011234, personas kods 010185-12345. "
               "Mieszkam przy ul. Długa 5, Kraków; e-mail anna@example.com")
    reference = make_lead(message=message)
    with db.session_scope(leads_db) as s:
        stored = s.scalar(select(Lead.message).where(Lead.reference == reference))
    assert stored == ("Mój PESEL [id number], personnummer [id number], asmens kodas [id number], personas kods [id number]. "
                      "Mieszkam przy [address], Kraków; e-mail [email]")
