"""Fault injection during a lead handoff (issue 8): a component fails in the middle of the contact
form, the mover is told plainly, no confirmed lead is lost or stored twice, and the assistant
recovers by itself when the component is back.

One production-profile stack for the module (Rasa on a PostgreSQL tracker store with the Redis lock
store, leads in a PostgreSQL app database, one worker each), on databases and a Redis database of
its own that are dropped / emptied afterwards. Every conversation goes through the public
/api/chat as the widget sends it. The faults are real: SIGKILL of the action server or of Rasa
(Stack.kill, then Stack.restart on the same port), PostgreSQL backends terminated, a database
closed to new connections. To stop Rasa at an exact point of a turn (after the lead is committed,
before the turn is saved), the test holds a lock on Rasa's `events` table; Rasa then waits in its
INSERT, where it is killed or loses its connection.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select, text

import settings
from scripts.stack import Stack, prepare
from scripts.stores import fresh_production_stores
from tests.conftest import POSTGRES_ADMIN_URL, ChatClient, free_port, wait_until
from tests.mail import Inbox
from tests.test_lead_form import REFERENCE, Conversation, fill_to_consent, leads_of, payloads_of
from web.leads import db, tracker_privacy
from web.leads.models import AuditEntry, Consent, Lead, LeadTopic, OutboxMessage, StatusChange

pytestmark = pytest.mark.stack

# Rasa keeps a conversation's lock (a ticket in Redis) this long when the process holding it dies
# mid-turn; the default is 60 s. Shorter here so the test does not wait a minute for it.
TICKET_LOCK_LIFETIME_S = "10"
WAIT_S = 60  # the longest a test waits for something to happen (never reached when all is well)


class Faults:
    """The running stack, its databases, and the faults a test can inject into them."""

    def __init__(self, stack: Stack, admin, names: dict[str, str], tracker_url: str, app_url: str, inbox: Inbox):
        self.stack, self.admin, self.names = stack, admin, names
        self.tracker_url, self.app_url, self.inbox = tracker_url, app_url, inbox
        self.tracker = create_engine(tracker_privacy.tracker_url(tracker_url), pool_pre_ping=True)

    def terminate(self, database: str, pid: int | None = None) -> int:
        """Cut the server side of connections to one database (all, or one backend): what a restart
        or failover of PostgreSQL does to the pools of Rasa, the action server and the web app."""
        with self.admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                + (" AND pid = :pid" if pid else "")), {"db": database, "pid": pid}).all())

    def allow_connections(self, database: str, allowed: bool) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allowed else "false"}'))

    def waiting_tracker_insert(self) -> int | None:
        """The backend of Rasa's INSERT into `events` while it waits for the test's table lock."""
        with self.tracker.connect() as conn:
            return conn.scalar(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND query ILIKE 'INSERT INTO events%' LIMIT 1"))

    def slots(self, session: str) -> dict:
        """The conversation's slot values in Rasa's tracker store (PostgreSQL), replayed in order."""
        import json

        with self.tracker.connect() as conn:
            rows = conn.execute(text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'slot' ORDER BY id"),
                                {"s": session}).all()
        values: dict = {}
        for (data,) in rows:
            event = json.loads(data)
            values[event["name"]] = event["value"]
        return values

    def row_counts(self) -> dict[str, int]:
        with db.session_scope(self.app_url) as s:
            return {model.__tablename__: s.scalar(select(func.count()).select_from(model))
                    for model in (Lead, Consent, LeadTopic, StatusChange, OutboxMessage, AuditEntry)}


def wait_for(what: str, check):
    return wait_until(check, what, timeout=WAIT_S, interval=0.1)


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    # this stack's logs on their own (var/log/ interleaves every stack of every run)
    shared_log_dir, settings.LOG_DIR = settings.LOG_DIR, tmp_path_factory.mktemp("fault-logs")
    print(f"\nlogs of the fault-injection stack: {settings.LOG_DIR}")
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    s = found = None
    with fresh_production_stores("move_fault", POSTGRES_ADMIN_URL) as stores:
        try:
            model = prepare()
            smtp.start()
            s = Stack(web_port=free_port(), rasa_port=free_port(), actions_port=free_port(), profile="production",
                      web_workers=1, rasa_workers=1,
                      extra_env={**stores.env,
                                 "MOVE_SECRET_KEY": secrets.token_urlsafe(32), "MOVE_ACTIONS_TOKEN": secrets.token_urlsafe(24),
                                 "MOVE_SMTP_HOST": "127.0.0.1", "MOVE_SMTP_PORT": str(smtp.port),
                                 "MOVE_LEADS_NOTIFY_TO": "flytta@lulea.se", "MOVE_NOTIFY_INTERVAL_S": "0.5",
                                 "MOVE_CHAT_RATE_LIMIT_IP": "off", "MOVE_CHAT_RATE_LIMIT_SESSION": "off",
                                 "MOVE_RETENTION_INTERVAL_MINUTES": "0", "TICKET_LOCK_LIFETIME": TICKET_LOCK_LIFETIME_S})
            s.start(model)
            print(f"\nfault stack healthy after {s.wait_healthy(timeout=400):.1f} s")
            found = Faults(s, stores.admin, stores.databases, stores.tracker_url, stores.app_url, inbox)
            yield found
        finally:
            if s is not None:
                s.stop()
            smtp.stop()
            if found is not None:
                found.tracker.dispose()
            settings.LOG_DIR = shared_log_dir


@pytest.fixture(autouse=True)
def all_running(faults):
    """Every test starts with all three services up (a test may leave one killed)."""
    for name, proc in faults.stack.processes.items():
        if proc.poll() is not None:
            faults.stack.restart(name)


@pytest.fixture(scope="module")
def fault_chat(faults) -> ChatClient:
    return ChatClient(faults.stack.urls["web"])


def attempt(conv: Conversation, said: str) -> requests.Response:
    """One turn whatever the answer is (Conversation.send insists on a 200)."""
    button = said.startswith("/")
    body = {"session": conv.session, "lang": conv.lang, **({"payload": said} if button else {"message": said})}
    return conv.chat.post(body)


def assert_told_unavailable(response: requests.Response, kb, conv: Conversation) -> None:
    """The mover is told plainly, in their language, that the assistant is not available now."""
    assert response.status_code == 503, response.text
    assert response.json() == {"error": {"code": "backend_unavailable", "message": kb.phrase("error_unavailable", conv.lang)},
                               "session": conv.session}
    assert not REFERENCE.search(response.text)


def lead_sent(conv: Conversation, kb, said: str, name: str) -> str:
    """Send the consent; the reply is "sent" with a reference, which is returned."""
    [sent] = conv.send(said)
    match = REFERENCE.search(sent["text"])
    assert match, sent["text"]
    assert sent["text"] == kb.phrase("lead_sent", conv.lang, name=name, reference=match.group(0))
    return match.group(0)


# ---------------------------------------------------------------- the action server dies

def test_action_server_killed_mid_form_the_mover_is_told_and_finishes_after_the_restart(faults, fault_chat, kb):
    conv = Conversation(fault_chat, "pl")
    conv.send("/talk_to_person")
    conv.send("Agnieszka Wiśniewska")
    assert conv.last("agnieszka@example.pl")["text"] == kb.phrase("ask_phone", "pl")

    faults.stack.kill("actions")
    assert_told_unavailable(attempt(conv, "+48 601 234 567"), kb, conv)
    health = requests.get(faults.stack.urls["web"] + "/api/health", timeout=10)
    assert health.status_code == 503 and health.json()["components"]["actions"]["status"] == "down"
    # the answers given so far are kept in the conversation, and nothing was stored
    slots = faults.slots(conv.session)
    assert (slots["lead_name"], slots["lead_email"], slots["requested_slot"]) == ("Agnieszka Wiśniewska", "agnieszka@example.pl", "lead_phone")
    assert leads_of(faults.app_url, conv.session) == []

    print(f"action server healthy again {faults.stack.restart('actions'):.1f} s after its restart")
    # the mover sends the same answer again and goes on where they were
    assert conv.last("+48 601 234 567")["text"] == kb.phrase("ask_country", "pl")
    for said in ("Polska", "pielęgniarka", '/inform{"help_topic":"work"}', "/done", '/inform{"household":"partner"}',
                 '/inform{"move_when":"half_year"}', '/inform{"preferred_language":"pl"}', "/skip"):
        conv.send(said)
    assert conv.last("/affirm")["text"] == kb.phrase("ask_consent", "pl")
    reference = lead_sent(conv, kb, "Tak, zgadzam się", "Agnieszka Wiśniewska")

    [lead] = leads_of(faults.app_url, conv.session)
    assert (lead.reference, lead.name, lead.email, lead.phone, lead.country, lead.profession, lead.topic_ids) == (
        reference, "Agnieszka Wiśniewska", "agnieszka@example.pl", "+48601234567", "PL", "pielęgniarka", ["work"])
    assert (lead.household, lead.move_when, lead.preferred_language, lead.chat_language) == ("partner", "half_year", "pl", "pl")


# ---------------------------------------------------------------- Rasa dies

def test_rasa_killed_after_the_lead_was_stored_but_before_the_turn_was_saved(faults, fault_chat, kb):
    """The hardest moment: the lead is committed, the mover has not seen its reference yet, and
    Rasa dies before it records the turn. After the restart the form still asks for consent; the
    mover's "yes" gives them the reference of that lead, and no second lead is stored."""
    conv = Conversation(fault_chat, "sv")
    fill_to_consent(conv, kb, "Sara Lind", "sara@example.se", "Finland", "sjuksköterska")
    with faults.tracker.connect() as hold, ThreadPoolExecutor(1) as pool:
        transaction = hold.begin()
        hold.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))  # reads go on, Rasa's INSERT waits
        reply = pool.submit(attempt, conv, "Jag godkänner")
        [stored] = wait_for("the lead to be stored", lambda: leads_of(faults.app_url, conv.session))
        wait_for("Rasa to wait in its INSERT", faults.waiting_tracker_insert)
        faults.stack.kill("rasa")
        assert_told_unavailable(reply.result(timeout=WAIT_S), kb, conv)
        transaction.rollback()

    assert_told_unavailable(attempt(conv, "Ja"), kb, conv)  # Rasa is still down: told again, plainly
    print(f"Rasa healthy again {faults.stack.restart('rasa'):.1f} s after its restart")
    slots = faults.slots(conv.session)  # the conversation survived in the tracker store
    assert (slots["requested_slot"], slots["lead_email"]) == ("lead_consent", "sara@example.se")
    reference = lead_sent(conv, kb, "Ja", "Sara Lind")
    assert reference == stored.reference
    [lead] = leads_of(faults.app_url, conv.session)  # exactly one
    assert (lead.reference, lead.name, lead.email, lead.profession) == (reference, "Sara Lind", "sara@example.se", "sjuksköterska")
    # the form is over and the chat goes on
    assert conv.send("Hur hyr jag en lägenhet i Luleå?")[0]["topic"] == "housing.rent"


# ---------------------------------------------------------------- the tracker store loses its connections

def test_rasa_recovers_by_itself_when_postgresql_cuts_its_tracker_store_connections(faults, fault_chat, kb):
    conv = Conversation(fault_chat, "lt")
    conv.send("/talk_to_person")
    conv.send("Ona Petraitienė")
    # between two turns: every pooled connection of Rasa's tracker store is cut
    assert faults.terminate(faults.names["tracker"]) >= 1
    assert conv.last("ona@example.lt")["text"] == kb.phrase("ask_phone", "lt")  # the form goes on
    assert faults.slots(conv.session)["lead_email"] == "ona@example.lt"

    # in the middle of a turn: the connection that is saving it is cut
    with faults.tracker.connect() as hold, ThreadPoolExecutor(1) as pool:
        transaction = hold.begin()
        hold.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))
        reply = pool.submit(attempt, conv, "+370 612 34567")
        assert faults.terminate(faults.names["tracker"], pid=wait_for("Rasa to wait in its INSERT", faults.waiting_tracker_insert)) == 1
        transaction.rollback()
        response = reply.result(timeout=WAIT_S)
    assert response.status_code == 200, response.text
    assert response.json()["messages"][-1]["text"] == kb.phrase("ask_country", "lt")
    assert faults.slots(conv.session)["lead_phone"] == "+37061234567"  # the turn was saved after all
    assert conv.last("Lietuva")["text"] == kb.phrase("ask_profession", "lt")
    assert conv.last("/cancel")["text"] == kb.phrase("lead_cancelled", "lt")


# ---------------------------------------------------------------- the app database goes away

def test_app_database_lost_at_consent_nothing_is_half_written_and_the_next_yes_stores_it(faults, fault_chat, kb):
    conv = Conversation(fault_chat, "lv")
    fill_to_consent(conv, kb, "Jānis Bērziņš", "janis@example.lv", "Latvija", "programmētājs")
    before = faults.row_counts()
    app = faults.names["app"]
    faults.allow_connections(app, False)
    try:
        faults.terminate(app)  # the action server's and the web app's pooled connections
        failed = conv.send("/affirm")
    finally:
        faults.allow_connections(app, True)
    assert [m["text"] for m in failed] == [kb.phrase("lead_failed", "lv")]
    assert not any(REFERENCE.search(m["text"]) for m in failed)
    assert payloads_of(failed[0]) == ["/affirm", "/cancel"]  # try again, or cancel
    assert faults.row_counts() == before  # nothing half-written
    assert faults.slots(conv.session)["lead_email"] == "janis@example.lv"  # nothing lost

    # the database is back: the next "yes" stores the lead, nothing was restarted
    reference = lead_sent(conv, kb, "/affirm", "Jānis Bērziņš")
    [lead] = leads_of(faults.app_url, conv.session)
    assert (lead.reference, lead.email, lead.country, lead.chat_language) == (reference, "janis@example.lv", "LV", "lv")
    # the web app's email sender got over the lost connections too: the team is told once
    mails = wait_for("the new-lead email", lambda: [m for m in faults.inbox.messages if reference in m["Subject"]])
    assert len(mails) == 1

    # the reference was shown after the commit: killing the action server now loses nothing
    faults.stack.kill("actions")
    fresh = create_engine(faults.app_url)
    try:
        with fresh.connect() as conn:
            assert conn.scalar(text("SELECT email FROM leads WHERE reference = :r"), {"r": reference}) == "janis@example.lv"
    finally:
        fresh.dispose()
