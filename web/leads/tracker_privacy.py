"""Retention and masking in Rasa's own conversation store (the tracker store, MOVE_TRACKER_DB).

Rasa's SQLTrackerStore (Rasa 3.6, rasa/core/tracker_store.py) keeps every event of a conversation
as one row of its `events` table: id, sender_id, type_name, timestamp (float, UNIX seconds),
intent_name, action_name (the slot name for a `slot` event) and data (the event as JSON). It only
ever appends: on save it counts the rows of the conversation's latest session and inserts the
tracker's events beyond that count, and on load it replays the rows in id order. So rows may be
rewritten in place (the count stays the same), and a conversation may be deleted as a whole, but
never in part.

Three things happen here. When a lead is erased (web.leads.retention.erase_lead, GDPR), the whole
conversation it came from is deleted (delete_conversation). And the retention job
(web.leads.retention.run_job, from the web process's scheduler thread and from
`flask --app web leads retention`) runs two:

- delete_old_conversations: every conversation whose last event is older than
  CHAT_RETENTION_DAYS is deleted (all its rows).
- mask_conversations: the rows of a conversation are masked once it has been idle for
  TRACKER_MASK_AFTER_MINUTES, and, right away, up to the point where the contact form finished
  (action_lead_finish): the text of the mover's messages (and the parse data's text and entity
  values) with web.leads.masking; in the bot's messages only the mover's own answers they repeat
  (the summary before consent); and the values of the form's personal slots (and of the slots
  that say how far the form got) set to None, so a form taken up again asks its questions again
  instead of carrying "[email]" values. With the default of 60 minutes, which is also Rasa's
  session_expiration_time (bot/domain/main.yml), the next message starts a new session anyway,
  and the slots Rasa carries over are the masked ones.

How far each conversation is masked is kept in a small table of our own next to Rasa's,
`move_tracker_privacy` (sender_id, masked_through_id), so a run only reads events it has not
masked yet. Masking is idempotent; web.leads.retention runs one job at a time (a lock).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

import settings
from web.leads.masking import mask_personal_data

log = logging.getLogger(__name__)

# Slots of the contact form (bot/domain/lead_form.yml) that hold what the mover typed about
# themselves: emptied when a conversation is masked.
PERSONAL_SLOTS = ("lead_name", "lead_email", "lead_phone", "lead_country", "lead_profession", "lead_message")
# Slots that record how far the form got: emptied too, so a form taken up again shows the summary
# again before consent, and asks for consent again (validate_lead_consent stores nothing when
# lead_consent_version does not match the wording shown).
PROGRESS_SLOTS = ("lead_confirm", "lead_correcting", "lead_consent_version")
RESET_SLOTS = (*PERSONAL_SLOTS, *PROGRESS_SLOTS)
FORM_FINISHED = "action_lead_finish"
STATE_TABLE = "move_tracker_privacy"
DELETE_BATCH = 200

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


@dataclass
class TrackerReport:
    conversations_deleted: int = 0
    events_deleted: int = 0
    conversations_masked: int = 0
    events_masked: int = 0


def tracker_url(tracker_db: str | Path | None = None) -> str | None:
    """An SQLAlchemy URL for MOVE_TRACKER_DB (a SQLite file path or a URL); None if the SQLite file
    does not exist yet (Rasa has stored nothing: nothing to do, and no empty file is created)."""
    tracker_db = str(tracker_db or settings.TRACKER_DB)
    if "://" not in tracker_db:
        path = Path(tracker_db).resolve()
        return f"sqlite:///{path}" if path.exists() else None
    parsed = make_url(tracker_db)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return tracker_db if parsed.database and Path(parsed.database).exists() else None
    if backend != "postgresql":
        raise ValueError(f"tracker store: only SQLite files and PostgreSQL are supported, not {backend}")
    # Rasa's URL names no driver (psycopg2, in the rasa environment); this environment has psycopg 3.
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def engine(url: str) -> Engine:
    """One read-write engine per tracker URL and process."""
    with _engines_lock:
        found = _engines.get(url)
        if found is None:
            if make_url(url).get_backend_name() == "sqlite":
                # Rasa writes the same file: wait for its short transactions rather than fail.
                found = create_engine(url, connect_args={"timeout": 30})
            else:
                found = create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=1)
            _engines[url] = found
        return found


def dispose(url: str) -> None:
    with _engines_lock:
        found = _engines.pop(url, None)
    if found is not None:
        found.dispose()


def _has_events_table(conn: Connection) -> bool:
    if conn.dialect.name == "sqlite":
        return conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'")).first() is not None
    return conn.execute(text("SELECT to_regclass('events')")).scalar() is not None


def _ensure_state_table(conn: Connection) -> None:
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} "
                      "(sender_id VARCHAR(255) PRIMARY KEY, masked_through_id INTEGER NOT NULL)"))


def _epoch(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    return now if isinstance(now, int | float) else now.timestamp()


# ---------------------------------------------------------------- deleting old conversations

def delete_old_conversations(url: str, now: datetime | float | None = None, days: int | None = None) -> TrackerReport:
    """Delete every conversation whose last event is older than `days` (CHAT_RETENTION_DAYS)."""
    report = TrackerReport()
    cutoff = _epoch(now) - 86400 * (settings.CHAT_RETENTION_DAYS if days is None else days)
    eng = engine(url)
    with eng.begin() as conn:
        if not _has_events_table(conn):
            return report
        _ensure_state_table(conn)
        senders = [row[0] for row in conn.execute(
            text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"), {"cutoff": cutoff})]
    for start in range(0, len(senders), DELETE_BATCH):
        batch = senders[start:start + DELETE_BATCH]
        names = {f"s{i}": sender for i, sender in enumerate(batch)}
        in_batch = ", ".join(f":{name}" for name in names)
        with eng.begin() as conn:
            # A mover who came back since the SELECT keeps the conversation: never delete part of one.
            kept = {row[0] for row in conn.execute(
                text(f"SELECT DISTINCT sender_id FROM events WHERE sender_id IN ({in_batch}) AND timestamp >= :cutoff"),
                {**names, "cutoff": cutoff})}
            gone = {name: sender for name, sender in names.items() if sender not in kept}
            if not gone:
                continue
            in_gone = ", ".join(f":{name}" for name in gone)
            report.events_deleted += conn.execute(text(f"DELETE FROM events WHERE sender_id IN ({in_gone})"), gone).rowcount or 0
            conn.execute(text(f"DELETE FROM {STATE_TABLE} WHERE sender_id IN ({in_gone})"), gone)
            report.conversations_deleted += len(gone)
    return report


def delete_conversation(tracker_db: str | Path | None, sender_id: str) -> int:
    """Delete every stored event of one conversation (its sender id is the chat session id); returns
    how many. Database errors propagate: an erasure must not claim the conversation is gone."""
    url = tracker_url(tracker_db)
    if url is None or not sender_id:
        return 0
    with engine(url).begin() as conn:
        if not _has_events_table(conn):
            return 0
        _ensure_state_table(conn)
        deleted = conn.execute(text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender_id}).rowcount or 0
        conn.execute(text(f"DELETE FROM {STATE_TABLE} WHERE sender_id = :sender"), {"sender": sender_id})
    return deleted


# ---------------------------------------------------------------- masking

def _mask(text: str) -> str:
    """mask_personal_data, skipped for text without a digit or an "@" (most of it; nothing there to mask)."""
    if "@" not in text and not any(ch.isdigit() for ch in text):
        return text
    return mask_personal_data(text)


def _replace_echoes(value: Any, echoes: dict[str, str]) -> Any:
    """Every string in a JSON value with the mover's own details replaced by their masked form."""
    if isinstance(value, str):
        for original, masked in echoes.items():
            value = value.replace(original, masked)
        return value
    if isinstance(value, list):
        return [_replace_echoes(item, echoes) for item in value]
    if isinstance(value, dict):
        return {key: _replace_echoes(item, echoes) for key, item in value.items()}
    return value


def echoes_of(slot_values: list[Any]) -> dict[str, str]:
    """{what the mover gave: its masked form} for the form's answers that contain personal data
    (the summary before consent repeats them), longest first."""
    echoes = {}
    for value in slot_values:
        if isinstance(value, str) and len(value.strip()) >= 3:
            masked = mask_personal_data(value)
            if masked != value:
                echoes[value] = masked
    return dict(sorted(echoes.items(), key=lambda item: -len(item[0])))


def masked_event(type_name: str, event: dict, echoes: dict[str, str] | None = None) -> dict:
    """The event as stored after masking (the very same dict if nothing in it is personal).

    What the mover wrote is masked with web.leads.masking. The bot's messages are not: they come from
    the knowledge base, whose official phone numbers and links must stay as they are; only where a
    message repeats one of the mover's answers (`echoes`, from echoes_of) is that answer masked."""
    if type_name == "slot":
        if event.get("name") in RESET_SLOTS and event.get("value") is not None:
            return {**event, "value": None}
        return event
    if type_name == "user":
        masked = dict(event)
        if isinstance(event.get("text"), str):
            masked["text"] = _mask(event["text"])
        parse = event.get("parse_data")
        if isinstance(parse, dict):
            parse = dict(parse)
            if isinstance(parse.get("text"), str):
                parse["text"] = _mask(parse["text"])
            if isinstance(parse.get("entities"), list):
                parse["entities"] = [{**e, "value": _mask(e["value"])} if isinstance(e, dict) and isinstance(e.get("value"), str)
                                     else e for e in parse["entities"]]
            masked["parse_data"] = parse
        return masked if masked != event else event
    if type_name == "bot" and echoes:
        masked = {key: _replace_echoes(value, echoes) if key in ("text", "data") else value for key, value in event.items()}
        return masked if masked != event else event
    return event


def _candidates(conn: Connection) -> list[tuple[str, int | None, int, float, int | None]]:
    """(sender_id, masked_through_id, last id, last timestamp, last form finish id) of every
    conversation with events that are not masked yet."""
    rows = conn.execute(text(
        f"SELECT e.sender_id, p.masked_through_id, MAX(e.id), MAX(e.timestamp), "
        f"MAX(CASE WHEN e.type_name = 'action' AND e.action_name = :finished THEN e.id END) "
        f"FROM events e LEFT JOIN {STATE_TABLE} p ON p.sender_id = e.sender_id "
        f"WHERE p.masked_through_id IS NULL OR e.id > p.masked_through_id "
        f"GROUP BY e.sender_id, p.masked_through_id"), {"finished": FORM_FINISHED})
    return [tuple(row) for row in rows]


def _mask_range(conn: Connection, sender: str, after: int | None, through: int) -> int:
    rows = conn.execute(text(
        "SELECT id, type_name, data FROM events WHERE sender_id = :sender AND id > :after AND id <= :through "
        "AND (type_name IN ('user', 'bot') OR (type_name = 'slot' AND action_name IN "
        f"({', '.join(repr(s) for s in RESET_SLOTS)}))) ORDER BY id"),
        {"sender": sender, "after": after or 0, "through": through}).all()
    events = []
    for row_id, type_name, data in rows:
        try:
            events.append((row_id, type_name, json.loads(data or "{}")))
        except ValueError:
            continue
    echoes = echoes_of([event.get("value") for _, type_name, event in events
                        if type_name == "slot" and event.get("name") in PERSONAL_SLOTS])
    changed = 0
    for row_id, type_name, event in events:
        masked = masked_event(type_name, event, echoes)
        if masked is not event:
            conn.execute(text("UPDATE events SET data = :data WHERE id = :id"), {"data": json.dumps(masked), "id": row_id})
            changed += 1
    if after is None:
        conn.execute(text(f"INSERT INTO {STATE_TABLE} (sender_id, masked_through_id) VALUES (:sender, :through)"),
                     {"sender": sender, "through": through})
    else:
        conn.execute(text(f"UPDATE {STATE_TABLE} SET masked_through_id = :through WHERE sender_id = :sender"),
                     {"sender": sender, "through": through})
    return changed


def mask_conversations(url: str, now: datetime | float | None = None, idle_minutes: float | None = None) -> TrackerReport:
    """Mask personal data in conversations idle for `idle_minutes` (TRACKER_MASK_AFTER_MINUTES),
    and in every conversation up to the point where its contact form finished."""
    report = TrackerReport()
    idle = settings.TRACKER_MASK_AFTER_MINUTES if idle_minutes is None else idle_minutes
    idle_cutoff = _epoch(now) - 60 * idle
    eng = engine(url)
    with eng.begin() as conn:
        if not _has_events_table(conn):
            return report
        _ensure_state_table(conn)
        candidates = _candidates(conn)
    for sender, after, last_id, last_at, finished_id in candidates:
        through = last_id if last_at is not None and last_at < idle_cutoff else finished_id
        if through is None or (after is not None and through <= after):
            continue
        with eng.begin() as conn:  # one short transaction per conversation: Rasa keeps writing meanwhile
            report.events_masked += _mask_range(conn, sender, after, through)
        report.conversations_masked += 1
    return report


def run(tracker_db: str | Path | None = None, now: datetime | float | None = None, days: int | None = None,
        idle_minutes: float | None = None) -> TrackerReport:
    """Delete old conversations, then mask the idle and finished ones; nothing if Rasa stored nothing yet."""
    url = tracker_url(tracker_db)
    if url is None:
        return TrackerReport()
    report = delete_old_conversations(url, now, days)
    masked = mask_conversations(url, now, idle_minutes)
    report.conversations_masked, report.events_masked = masked.conversations_masked, masked.events_masked
    return report
