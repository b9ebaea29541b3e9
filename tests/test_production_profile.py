"""The production profile for real: Rasa with two Sanic workers on a PostgreSQL tracker store and a
Redis lock store, the web app under two gunicorn workers with its rate-limit counters in Redis,
leads and staff in a PostgreSQL app database (local servers: PostgreSQL 127.0.0.1:5432 trust auth,
Redis 127.0.0.1:6379).

The session fixture creates two fresh PostgreSQL databases and picks an empty Redis database,
starts the stack on them with MOVE_PROFILE=production (the trained model is shared with the other
stack tests), and drops everything afterwards. The tests then walk the main paths a municipality
relies on: chat in two languages, a conversation kept across workers, a full lead handoff with
exactly one email to the team, a staff account made with the CLI and a staff sign-in.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, select, text

import settings
from scripts.stack import Stack, prepare, profile_problems
from scripts.stores import fresh_production_stores
from tests.conftest import POSTGRES_ADMIN_URL, ChatClient, free_port
from tests.mail import Inbox
from tests.test_lead_form import REFERENCE, Conversation, fill_to_consent, leads_of
from web.leads import db
from web.leads.models import OutboxMessage
from web.leads.tracker_privacy import tracker_url

pytestmark = pytest.mark.stack

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
RENT = {"pl": "Jak wynająć mieszkanie w Luleå?", "sv": "Hur hyr jag en lägenhet i Luleå?"}


@pytest.fixture(scope="session")
def production(tmp_path_factory):
    """The stack on the production profile, with its database URLs, Redis database and SMTP inbox."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    s = None
    with fresh_production_stores("move_prod", POSTGRES_ADMIN_URL) as stores:
        try:
            model = prepare()
            smtp.start()
            s = Stack(web_port=free_port(), rasa_port=free_port(), actions_port=free_port(),
                      profile="production", web_workers=2, rasa_workers=2,
                      extra_env={**stores.env,
                                 "MOVE_SECRET_KEY": secrets.token_urlsafe(32), "MOVE_ACTIONS_TOKEN": secrets.token_urlsafe(24),
                                 "MOVE_SMTP_HOST": "127.0.0.1", "MOVE_SMTP_PORT": str(smtp.port),
                                 "MOVE_LEADS_NOTIFY_TO": "flytta@lulea.se", "MOVE_NOTIFY_INTERVAL_S": "0.5"})
            s.start(model)
            s.wait_healthy(timeout=400)
            yield {"stack": s, "tracker_url": stores.tracker_url, "app_url": stores.app_url, "redis_db": stores.redis_db,
                   "inbox": inbox}
        finally:
            if s is not None:
                s.stop()
            smtp.stop()


@pytest.fixture(scope="session")
def prod_chat(production) -> ChatClient:
    return ChatClient(production["stack"].urls["web"])


def _children(pid: int) -> list[int]:
    """Process ids whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _tracker_events(url: str, session: str) -> list[str]:
    engine = create_engine(tracker_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.scalars(text("SELECT type_name FROM events WHERE sender_id = :s ORDER BY id"), {"s": session}))
    finally:
        engine.dispose()


# ---------------------------------------------------------------- refusing what is not production

def test_the_production_profile_refuses_to_start_without_what_it_needs(monkeypatch):
    for name in ("MOVE_TRACKER_DB", "MOVE_DATABASE_URL", "MOVE_REDIS_URL", "MOVE_RATE_LIMIT_STORAGE", "MOVE_SECRET_KEY",
                 "MOVE_ACTIONS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings, "ACTIONS_TOKEN", "")
    s = Stack(web_port=free_port(), rasa_port=free_port(), actions_port=free_port(), profile="production",
              extra_env={"MOVE_TRACKER_DB": "/srv/tracker.db", "MOVE_DATABASE_URL": "sqlite:////srv/app.db"})
    problems = "\n".join(s.problems())
    for name in ("MOVE_TRACKER_DB", "MOVE_DATABASE_URL", "MOVE_REDIS_URL", "MOVE_RATE_LIMIT_STORAGE", "MOVE_SECRET_KEY",
                 "MOVE_ACTIONS_TOKEN"):
        assert name in problems
    with pytest.raises(SystemExit, match="cannot start the production profile"):
        s.start(Path("no-model.tar.gz"))
    assert s.processes == {}  # nothing was started
    assert profile_problems("staging", {}) == ["MOVE_PROFILE='staging': use one of development, production"]
    assert profile_problems("development", {}, rasa_workers=2)  # several Sanic workers need the Redis lock store


def test_the_example_environment_file_documents_every_setting():
    read = set(re.findall(r'_env(?:_int)?\("(MOVE_[A-Z0-9_]+)"', (settings.ROOT / "settings.py").read_text()))
    example = (settings.ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?(MOVE_[A-Z0-9_]+)=", example, re.MULTILINE))
    assert read and read == documented
    # placeholders only: no value in it could be a real secret
    for line in example.splitlines():
        if re.match(r"^#?MOVE_(SECRET_KEY|ACTIONS_TOKEN|SMTP_PASSWORD)=", line):
            assert line.split("=", 1)[1] in ("", "<long random value>", "<smtp password>"), line


def test_history_from_an_unreachable_postgresql_tracker_store_is_a_clear_503(tmp_path):
    from web import create_app
    from web.api import issue_session

    app = create_app({"TRACKER_DB": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "NOTIFY_INTERVAL_S": 0})
    with app.test_request_context():
        session = issue_session()
    response = app.test_client().post("/api/history", json={"session": session})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "history_unavailable"


# ---------------------------------------------------------------- the running production stack

def test_rasa_and_the_web_app_run_two_workers_each(production):
    processes = production["stack"].processes
    assert len(_children(processes["web"].pid)) == 2  # gunicorn's master and its 2 workers
    assert len(_children(processes["rasa"].pid)) == 2  # Sanic's main process and its 2 workers


@pytest.mark.parametrize("lang", ["pl", "sv"])
def test_chat_answers_in_two_languages_with_topic_and_sources(prod_chat, kb, production, lang):
    reply = prod_chat.say(RENT[lang], lang=lang)
    answer = reply["messages"][0]
    assert (answer["topic"], answer["lang"]) == ("housing.rent", lang)
    assert answer["text"] == kb.topics["housing.rent"].entry(lang).answer
    assert answer["sources"] and all(url.startswith("https://") for url in answer["sources"])
    # Rasa stored the conversation in PostgreSQL, and the widget's history reads it from there
    assert "user" in _tracker_events(production["tracker_url"], reply["session"])
    history = requests.post(production["stack"].urls["web"] + "/api/history", json={"session": reply["session"]}, timeout=30)
    assert history.status_code == 200, history.text
    said = [m["text"] for m in history.json()["messages"] if m["who"] == "user"]
    assert said == [RENT[lang]] and history.json()["lang"] == lang


def test_a_conversation_keeps_its_state_whichever_workers_serve_it(prod_chat, kb):
    # Each request may land on another gunicorn worker and another Sanic worker: the tracker
    # (PostgreSQL) and the lock (Redis) are shared, so "more details" follows the last topic.
    for _ in range(3):
        first = prod_chat.say(RENT["sv"], lang="sv")
        more = prod_chat.say("", session=first["session"], lang="sv", payload="/more_details")
        assert more["messages"][0]["text"] == kb.topics["housing.rent"].entry("sv").details


def test_a_full_lead_handoff_lands_in_postgresql_and_mails_the_team_once(prod_chat, kb, production):
    conv = Conversation(prod_chat, "lt")
    fill_to_consent(conv, kb, "Ona Petraitienė", "ona@example.lt", "Lietuva", "slaugytoja")
    sent = conv.last("/affirm")
    reference = REFERENCE.search(sent["text"]).group(0)
    assert sent["text"] == kb.phrase("lead_sent", "lt", name="Ona Petraitienė", reference=reference)

    [lead] = leads_of(production["app_url"], conv.session)
    assert (lead.reference, lead.name, lead.email, lead.country, lead.chat_language) == (
        reference, "Ona Petraitienė", "ona@example.lt", "LT", "lt")
    assert lead.consent.text == kb.phrase("ask_consent", "lt")

    # two web workers run a sender thread each; the outbox claim lets only one of them mail it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.session_scope(production["app_url"]) as s:
            sent_at = s.scalar(select(OutboxMessage.sent_at).where(OutboxMessage.lead_id == lead.id))
        if sent_at is not None:
            break
        time.sleep(0.2)
    assert sent_at is not None, "the new-lead email was not sent"
    time.sleep(2)  # give a second sender every chance to mail it again (it must not)
    mails = [m for m in production["inbox"].messages if reference in m["Subject"]]
    assert len(mails) == 1


def test_staff_created_with_the_cli_sign_in_and_see_the_leads(production):
    env = {**os.environ, "MOVE_DATABASE_URL": production["app_url"], "MOVE_NOTIFY_INTERVAL_S": "0"}
    created = subprocess.run([str(settings.ROOT / ".venv" / "app" / "bin" / "flask"), "--app", "web", "staff", "create",
                              "prod.staff@lulea.se", "--password-stdin"], input="a long production password\n",
                             capture_output=True, text=True, cwd=settings.ROOT, env=env, timeout=120)
    assert created.returncode == 0, created.stderr
    base = production["stack"].urls["web"]
    http = requests.Session()

    def login(password: str) -> requests.Response:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', http.get(base + "/staff/login", timeout=10).text).group(1)
        return http.post(base + "/staff/login", data={"email": "prod.staff@lulea.se", "password": password, "csrf_token": token},
                         timeout=10)

    refused = login("not the password")
    assert "/staff/leads" not in refused.url
    page = login("a long production password")
    assert page.status_code == 200 and page.url.endswith("/staff/leads")
    with db.session_scope(production["app_url"]) as s:
        references = list(s.scalars(text("SELECT reference FROM leads")))
    assert all(ref in page.text for ref in references)
    # both sign-in attempts were counted in Redis, where every web worker (and instance) sees them
    store = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=production["redis_db"])
    [counter] = [key for key in store.keys("LIMITS:*") if b"/staff.login/" in key and key.endswith(b"/minute")]
    assert int(store.get(counter)) == 2
