"""A session's conversation so far, read from Rasa's tracker store, so the widget can show it again
after a page reload or a move to another page of the host site.

Why the tracker store and not a copy kept by web/: Rasa already stores every conversation (the SQL
tracker store in bot/endpoints.yml, a SQLite file at settings.TRACKER_DB; in the production profile
bot/endpoints.production.yml, a PostgreSQL database at that URL). Reading it gives exactly what was
said, survives restarts of web/, works with any number of web workers and instances, and keeps no
second copy of what the mover wrote. The browser keeps only the opaque session id. We only read: the
SQLite file is opened read-only, PostgreSQL sessions are read-only transactions; Rasa's HTTP API
stays disabled.

A button press is stored by Rasa as its payload ("/ask_topic{...}"); it is shown as the title of the
button that carried it, as the widget showed it (or, for the widget's own topic menu and shortcut
buttons, the title `title_for` gives). Payloads the widget sends on its own (/greet when opening,
/set_language from the language menu) are not shown.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from psycopg.errors import UndefinedTable
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError

from web.leads.tracker_privacy import tracker_url

log = logging.getLogger(__name__)

EVENTS_QUERY = ("SELECT type_name, timestamp, data FROM events WHERE sender_id = :session "
                "AND type_name IN ('user', 'bot', 'slot') ORDER BY id")
# What reading the store raises when it is unreachable or broken (callers answer 503, not 500).
READ_ERRORS = (sqlite3.Error, SQLAlchemyError)
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()

MAX_MESSAGES = 200  # the newest messages of a very long conversation are enough to go on from


def _bot_message(event: dict, to_message) -> dict | None:
    data = event.get("data") or {}
    item = {"text": event.get("text"), "buttons": data.get("buttons"), "custom": data.get("custom")}
    return to_message(item, None)


def _server_engine(url: str) -> Engine:
    """One pooled, read-only engine per tracker URL (Rasa's psycopg2 URL runs on psycopg 3 here)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_engine(
                tracker_url(url), pool_pre_ping=True, connect_args={"options": "-c default_transaction_read_only=on"})
        return engine


def _rows(tracker_db: str | Path, session: str) -> list[tuple]:
    """The session's user, bot and slot events, oldest first: from a SQLite file or a database URL."""
    if isinstance(tracker_db, str) and "://" in tracker_db:
        if tracker_db.startswith("sqlite:"):
            tracker_db = make_url(tracker_db).database or ""
        else:
            with _server_engine(tracker_db).connect() as conn:
                try:
                    return [tuple(row) for row in conn.execute(text(EVENTS_QUERY), {"session": session})]
                except ProgrammingError as exc:  # Rasa creates the table when it starts: none yet, no history yet
                    if isinstance(exc.orig, UndefinedTable):
                        return []
                    raise
    path = Path(tracker_db)
    if not path.exists():
        return []
    uri = f"file:{path.resolve()}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=5) as db:
        try:
            return db.execute(EVENTS_QUERY, {"session": session}).fetchall()
        except sqlite3.OperationalError as exc:  # a file Rasa has not written its table into yet
            if "no such table" in str(exc):
                return []
            raise


def load(tracker_db: str | Path, session: str, to_message, title_for) -> dict:
    """{"lang": the conversation's language or None, "messages": [{"who": "user"|"bot", ...}]}.

    `tracker_db` is what MOVE_TRACKER_DB says: a SQLite file path, or a PostgreSQL URL.
    `to_message(raw_rasa_message, fallback_lang)` turns a Rasa reply into the public message shape
    (web.api uses the same function for /api/chat); `title_for(payload, lang)` names a payload the
    widget sends from its own buttons, or returns None. An unknown session has no messages."""
    rows = _rows(tracker_db, session)
    lang: str | None = None
    messages: list[dict] = []
    offered: dict[str, str] = {}  # payload -> title of the buttons last shown
    for type_name, timestamp, raw in rows:
        try:
            event = json.loads(raw or "{}")
        except ValueError:
            continue
        if type_name == "slot":
            if event.get("name") == "lang" and isinstance(event.get("value"), str):
                lang = event["value"]
        elif type_name == "user":
            text = event.get("text") or ""
            if text.startswith("/"):
                title = offered.get(text) or offered.get(_canonical(text)) or title_for(_canonical(text), lang)
                if not title:
                    continue  # sent by the widget itself, not shown to the mover
                text = title
            messages.append({"who": "user", "text": text, "at": _iso(timestamp)})
        else:
            message = _bot_message(event, to_message)
            if message is None:
                continue
            if message.get("lang") is None:
                message["lang"] = lang
            offered = {b.get("payload"): b.get("title") for b in message.get("buttons") or [] if b.get("payload")}
            offered.update({_canonical(p): t for p, t in list(offered.items())})
            messages.append({"who": "bot", **message, "at": _iso(timestamp)})
    # The slot is set after the reply that first uses a language: fill in what is still unknown.
    for message in messages:
        if message["who"] == "bot" and message.get("lang") is None:
            message["lang"] = lang
    return {"lang": lang, "messages": messages[-MAX_MESSAGES:]}


def _iso(timestamp) -> str | None:
    try:
        return datetime.fromtimestamp(float(timestamp), UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _canonical(payload: str) -> str:
    """'/ask_topic{"topic": "x"}' and '/ask_topic{"topic":"x"}' are the same button."""
    head, brace, rest = payload.partition("{")
    if not brace:
        return payload.strip()
    try:
        return head.strip() + json.dumps(json.loads(brace + rest), separators=(",", ":"), sort_keys=True)
    except ValueError:
        return payload.strip()
