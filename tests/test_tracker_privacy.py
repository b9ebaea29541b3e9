"""Privacy in Rasa's own conversation store, for real: the retention job deletes conversations older
than 30 days and masks emails, phone numbers and identity numbers (and empties the contact form's
personal slots) in conversations that are idle or whose contact form has finished; erasing a lead
deletes the conversation it came from.

SQLite (development): the session stack's real Rasa and its tracker file; the job is run as the
code and as the `flask --app web leads retention` command. PostgreSQL (production): a real Rasa
on a fresh PostgreSQL tracker database with a Redis lock store, and two gunicorn workers whose
scheduler threads run the job every 0.6 s; nobody calls the command there.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sqlite3
import subprocess
import time

import pytest
import requests
from sqlalchemy import create_engine, text

import settings
from scripts.stack import Stack, prepare
from scripts.stores import fresh_production_stores
from tests.conftest import POSTGRES_ADMIN_URL, ChatClient, create_staff, free_port, wait_until
from tests.test_lead_form import REFERENCE, Conversation
from web.leads import retention, tracker_privacy

pytestmark = pytest.mark.stack

EMAIL, PHONE_TYPED, PHONE_STORED, PERSONNUMMER = "agnieszka.w@example.pl", "+48 512 345 678", "+48512345678", "19900101-1234"
RAW = (EMAIL, PHONE_TYPED, PHONE_STORED, "512 345 678", PERSONNUMMER, "199001011234")
RENT = "Jak wynająć mieszkanie w Luleå?"


# ---------------------------------------------------------------- helpers

def events(tracker_db: str, session: str) -> list[tuple[str, dict]]:
    """(type_name, event) of every stored row of the conversation, oldest first (SQLite or PostgreSQL)."""
    query = "SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"
    if "://" in tracker_db:
        engine = create_engine(tracker_privacy.tracker_url(tracker_db))
        try:
            with engine.connect() as conn:
                rows = conn.execute(text(query), {"s": session}).all()
        finally:
            engine.dispose()
    else:
        with sqlite3.connect(tracker_db) as conn:
            rows = conn.execute(query.replace(":s", "?"), (session,)).fetchall()
    return [(type_name, json.loads(data)) for type_name, data in rows]


def raw_personal_data(tracker_db: str, session: str) -> list[str]:
    """Every raw email / phone / personnummer still stored anywhere in the conversation's rows."""
    stored = json.dumps([event for _, event in events(tracker_db, session)], ensure_ascii=False)
    return [value for value in RAW if value in stored]


def slot_values(tracker_db: str, session: str) -> dict:
    values = {}
    for type_name, event in events(tracker_db, session):
        if type_name == "slot":
            values[event["name"]] = event["value"]
    return values


def age(tracker_db: str, session: str, days: float) -> None:
    """Move the whole conversation `days` into the past, as if nobody had written since."""
    sql = "UPDATE events SET timestamp = timestamp - :d WHERE sender_id = :s"
    if "://" in tracker_db:
        engine = create_engine(tracker_privacy.tracker_url(tracker_db))
        try:
            with engine.begin() as conn:
                conn.execute(text(sql), {"d": days * 86400, "s": session})
        finally:
            engine.dispose()
    else:
        with sqlite3.connect(tracker_db) as conn:
            conn.execute(sql.replace(":d", "?").replace(":s", "?"), (days * 86400, session))


def history(web_url: str, session: str) -> list[dict]:
    response = requests.post(web_url + "/api/history", json={"session": session}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def hand_over(conv: Conversation, kb) -> str:
    """A Polish mover asks about registration (with a personnummer), then sends a contact request
    with email and phone; returns the reference."""
    conv.send(f"Mam już personnummer {PERSONNUMMER}. Jak zmienić adres?")
    assert conv.last("/talk_to_person")["text"] == kb.phrase("ask_name", "pl")
    for said in ("Agnieszka Wiśniewska", EMAIL, PHONE_TYPED, "Polska", "pielęgniarka", '/inform{"help_topic":"work"}', "/done",
                 '/inform{"household":"alone"}', '/inform{"move_when":"later"}', '/inform{"preferred_language":"pl"}', "/skip"):
        conv.send(said)
    assert conv.last("/affirm")["text"] == kb.phrase("ask_consent", "pl")  # "Everything is correct" under the summary
    sent = conv.last("/affirm")
    return REFERENCE.search(sent["text"]).group(0)


def answers_a_question(conv: Conversation) -> None:
    reply = conv.send(RENT)[-1]
    assert reply["topic"] == "housing.rent" and reply["lang"] == "pl"


def masked_tokens(messages: list[dict]) -> set[str]:
    shown = " ".join(m["text"] for m in messages if m["who"] == "user")
    return {token for token in ("[email]", "[phone]", "[id number]") if token in shown}


# ---------------------------------------------------------------- SQLite: the session stack

@pytest.fixture(scope="module")
def tracker_file(stack) -> str:
    return stack.extra_env["MOVE_TRACKER_DB"]


def test_a_finished_contact_request_is_masked_and_the_conversation_goes_on(stack, chat, kb, tracker_file):
    conv = Conversation(chat, "pl")
    reference = hand_over(conv, kb)
    before = history(stack.urls["web"], conv.session)
    assert raw_personal_data(tracker_file, conv.session)  # Rasa stores what the mover typed

    report = retention.run_job(stack.extra_env["MOVE_DATABASE_URL"], tracker_file)  # not idle yet: finished form
    assert report.tracker.conversations_masked >= 1 and report.tracker.events_masked > 0

    assert raw_personal_data(tracker_file, conv.session) == []
    slots = slot_values(tracker_file, conv.session)
    assert all(slots.get(name) is None for name in tracker_privacy.PERSONAL_SLOTS)
    after = history(stack.urls["web"], conv.session)
    assert len(after) == len(before)
    assert masked_tokens(after) == {"[email]", "[phone]", "[id number]"}
    # the bot's own answers keep their text (official numbers and links included); the summary
    # before consent repeated the mover's email and phone, and shows them masked now
    for b, a in zip(before, after, strict=True):
        if b["who"] == "bot" and b["text"] != a["text"]:
            assert EMAIL in b["text"] and PHONE_STORED in b["text"]
            assert a["text"] == b["text"].replace(EMAIL, "[email]").replace(PHONE_STORED, "[phone]")
    assert any(reference in m["text"] for m in after)  # the reference the mover was given stays

    answers_a_question(conv)  # Rasa loads the masked conversation and carries on
    assert conv.last("/talk_to_person")["text"] == kb.phrase("ask_name", "pl")
    assert retention.run_job(stack.extra_env["MOVE_DATABASE_URL"], tracker_file) is not None  # nothing new to mask: fine


def test_an_abandoned_form_is_masked_when_idle_and_asks_again_when_taken_up(stack, chat, kb, tracker_file):
    conv = Conversation(chat, "pl")
    assert conv.last("/talk_to_person")["text"] == kb.phrase("ask_name", "pl")
    for said in ("Jan Kowalski", "jan.kowalski@example.pl", PHONE_TYPED, "Polska", "spawacz", '/inform{"help_topic":"work"}', "/done",
                 '/inform{"household":"alone"}', '/inform{"move_when":"later"}', '/inform{"preferred_language":"pl"}', "/skip"):
        conv.send(said)
    assert conv.last("/affirm")["text"] == kb.phrase("ask_consent", "pl")  # ... and the mover leaves
    assert slot_values(tracker_file, conv.session)["lead_email"] == "jan.kowalski@example.pl"

    # an hour and a half later (for the job; Rasa itself has not expired the session)
    report = tracker_privacy.run(tracker_file, now=time.time() + 90 * 60)
    assert report.conversations_masked >= 1
    slots = slot_values(tracker_file, conv.session)
    assert {name: slots.get(name) for name in tracker_privacy.RESET_SLOTS} == dict.fromkeys(tracker_privacy.RESET_SLOTS)
    stored = json.dumps([event for _, event in events(tracker_file, conv.session)], ensure_ascii=False)
    assert "jan.kowalski@example.pl" not in stored and PHONE_STORED not in stored and PHONE_TYPED not in stored

    # the mover comes back and agrees: nothing is stored from masked values; the form asks again
    assert conv.last("/affirm")["text"] == kb.phrase("ask_name", "pl")
    for said, expected in (("Jan Kowalski", "ask_email"), ("jan.kowalski@example.pl", "ask_phone"), ("/skip", "ask_country"),
                           ("Polska", "ask_profession"), ("spawacz", "ask_message")):
        assert conv.last(said)["text"] == kb.phrase(expected, "pl"), said
    summary = conv.last("/skip")
    assert summary["text"].startswith(kb.phrase("confirm_summary", "pl")) and "jan.kowalski@example.pl" in summary["text"]
    assert conv.last("/affirm")["text"] == kb.phrase("ask_consent", "pl")
    assert REFERENCE.search(conv.last("/affirm")["text"])


def test_the_command_deletes_conversations_older_than_30_days(stack, chat, tracker_file):
    old, recent = Conversation(chat, "pl"), Conversation(chat, "pl")
    answers_a_question(old)
    answers_a_question(recent)
    age(tracker_file, old.session, 31)
    age(tracker_file, recent.session, 29)

    env = {**os.environ, "PYTHONPATH": str(settings.ROOT), "MOVE_TRACKER_DB": tracker_file,
           "MOVE_DATABASE_URL": stack.extra_env["MOVE_DATABASE_URL"]}
    result = subprocess.run([str(settings.ROOT / ".venv" / "app" / "bin" / "flask"), "--app", "web", "leads", "retention"], env=env,
                            capture_output=True, text=True, cwd=settings.ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "tracker store: deleted 1 conversation(s)" in result.stdout, result.stdout

    assert events(tracker_file, old.session) == [] and history(stack.urls["web"], old.session) == []
    assert len(history(stack.urls["web"], recent.session)) >= 2
    answers_a_question(old)  # the mover who comes back simply starts a new conversation


def test_erasing_the_lead_deletes_its_conversation_from_rasas_store(stack, chat, kb, tracker_file):
    """GDPR erasure in the staff workspace of the running web app: after it, Rasa's store has no event
    of the conversation the lead came from and /api/history returns nothing for its session."""
    conv = Conversation(chat, "pl")
    reference = hand_over(conv, kb)
    web = stack.urls["web"]
    assert history(web, conv.session) and events(tracker_file, conv.session)
    create_staff(stack.extra_env["MOVE_DATABASE_URL"], "rodo@lulea.se", "an erasure test password")
    http = requests.Session()

    def token(path: str) -> str:
        return re.search(r'name="[\w-]*csrf_token" type="hidden" value="([^"]+)"', http.get(web + path, timeout=10).text).group(1)

    signed_in = http.post(web + "/staff/login", data={"email": "rodo@lulea.se", "password": "an erasure test password",
                                                      "csrf_token": token("/staff/login")}, timeout=10)
    assert signed_in.url.endswith("/staff/leads"), signed_in.text[:300]
    detail = f"/staff/leads/{reference}"
    erased = http.post(web + detail + "/erase", data={"erase-confirm": reference, "erase-csrf_token": token(detail)}, timeout=30)
    assert erased.status_code == 200 and f"Lead {reference} was erased" in erased.text

    assert history(web, conv.session) == []
    assert events(tracker_file, conv.session) == []
    answers_a_question(conv)  # the same session simply starts over


def test_the_job_logs_one_line_of_counts_and_no_personal_data(stack, chat, kb, tracker_file, caplog):
    conv = Conversation(chat, "pl")
    hand_over(conv, kb)
    with caplog.at_level(logging.INFO, logger="web.leads.retention"):
        retention.run_job(stack.extra_env["MOVE_DATABASE_URL"], tracker_file)
    [line] = [r.getMessage() for r in caplog.records if r.name == "web.leads.retention"]
    assert line.startswith("retention: purged ") and "masked" in line and "\n" not in line
    assert not any(value in line for value in (*RAW, "Agnieszka"))


def test_one_run_at_a_time(leads_db, tmp_path):
    """While one run holds the lock (PostgreSQL advisory lock / file lock), another is skipped."""
    with retention.job_lock(leads_db) as first:
        assert first
        with retention.job_lock(leads_db) as second:
            assert not second
        assert retention.run_job(leads_db, tmp_path / "no-tracker.db") is None
    assert retention.run_job(leads_db, tmp_path / "no-tracker.db") is not None


# ---------------------------------------------------------------- PostgreSQL: Rasa + two web workers

class RasaAndWeb(Stack):
    """Rasa and the web app of the production profile, using the session stack's action server."""

    def commands(self, model):
        commands = super().commands(model)
        commands.pop("actions")
        return commands


@pytest.fixture(scope="module")
def postgres_stack(stack):
    s = None
    with fresh_production_stores("move_privacy", POSTGRES_ADMIN_URL) as stores:
        try:
            s = RasaAndWeb(web_port=free_port(), rasa_port=free_port(), actions_port=stack.actions_port,
                           profile="production", web_workers=2, rasa_workers=1,
                           extra_env={**stores.env,
                                      "MOVE_SECRET_KEY": secrets.token_urlsafe(32), "MOVE_ACTIONS_TOKEN": stack.actions_token,
                                      "MOVE_CHAT_RATE_LIMIT_IP": "off", "MOVE_CHAT_RATE_LIMIT_SESSION": "off",
                                      "MOVE_RETENTION_INTERVAL_MINUTES": "0.01"})  # every 0.6 s, in each web worker
            s.start(prepare())
            s.wait_healthy(timeout=400)
            yield {"stack": s, "tracker_url": stores.tracker_url}
        finally:
            if s is not None:
                s.stop()


def wait_for(condition, what: str, timeout: float = 90):
    wait_until(condition, f"the scheduled retention job to {what}", timeout=timeout, interval=0.5)


def test_on_postgresql_the_web_workers_mask_and_delete_by_themselves(postgres_stack, kb):
    web, tracker = postgres_stack["stack"].urls["web"], postgres_stack["tracker_url"]
    chat = ChatClient(web)
    old = Conversation(chat, "pl")
    answers_a_question(old)
    age(tracker, old.session, 31)

    conv = Conversation(chat, "pl")
    hand_over(conv, kb)
    for _ in range(4):  # requests reach both workers, which each start their scheduler thread
        requests.get(web + "/api/health", timeout=10)

    wait_for(lambda: raw_personal_data(tracker, conv.session) == [], "mask the finished contact request")
    wait_for(lambda: events(tracker, old.session) == [], "delete the 31-day-old conversation")
    slots = slot_values(tracker, conv.session)
    assert all(slots.get(name) is None for name in tracker_privacy.PERSONAL_SLOTS)
    assert masked_tokens(history(web, conv.session)) == {"[email]", "[phone]", "[id number]"}
    answers_a_question(conv)  # a Rasa on the masked PostgreSQL rows carries on
    assert history(web, old.session) == []
