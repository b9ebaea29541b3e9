"""Erasure (GDPR) and retention.

erase_lead deletes a lead with everything that hangs off it (consent record, transcript, notes,
status history, pending notification), the conversation it came from (its events in Rasa's tracker
store and its chat turns kept for insights) and leaves only an anonymous audit stub: the reference,
who erased it and when. purge() applies the retention periods promised in
knowledge/topics/service.about.yml: chat text is kept CHAT_RETENTION_DAYS (30), a closed lead is
erased CLOSED_LEAD_RETENTION_DAYS (365) after closing.

run_job() is the whole retention job: purge() on the app database, then web.leads.tracker_privacy on
Rasa's tracker store (conversations older than CHAT_RETENTION_DAYS deleted, personal data in idle
or finished conversations masked), with a one-line log of the counts. It runs from
`flask --app web leads retention` (cron) and every RETENTION_INTERVAL_MINUTES in a background
thread of each web worker (RetentionScheduler). One run at a time: run_job() first takes a lock that
every process and machine sharing the app database sees (a PostgreSQL advisory lock; with a
SQLite app database, one machine by definition, an flock on a file next to it) and skips the run
if another holds it. Runs one after the other are harmless: each step deletes or masks only what
is still there.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import settings
from web.leads import audit, db, tracker_privacy
from web.leads.models import ChatTurn, Lead, utcnow
from web.leads.tracker_privacy import TrackerReport

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the retention job ("MOVERET" in ASCII), the same in every process.
ADVISORY_LOCK_KEY = 0x4D4F5645524554


def erase_lead(session: Session, lead: Lead, *, actor: str, staff_id: int | None = None, reason: str = "erase",
               tracker_db: str | Path | None = None) -> str:
    """Delete the lead and its data, and the conversation of its chat session (in Rasa's tracker store
    `tracker_db`, MOVE_TRACKER_DB by default, and its chat turns); the audit log keeps only reference,
    action, actor and time. The caller commits.

    The conversation goes first: if the tracker store cannot be reached the error propagates and
    nothing is erased (try again); if the commit fails afterwards, the lead is still there to erase again."""
    reference = lead.reference
    chat_sessions = [s for s in [lead.session_id, *(lead.merged_sessions or [])] if isinstance(s, str) and s]
    for chat_session in chat_sessions:  # its own conversation and those of leads merged into it
        tracker_privacy.delete_conversation(tracker_db, chat_session)
        session.execute(delete(ChatTurn).where(ChatTurn.session_id == chat_session))
    session.delete(lead)
    session.flush()
    audit.record(session, reason, actor=actor, staff_id=staff_id, reference=reference)
    return reference


@dataclass
class PurgeReport:
    transcripts: int = 0
    chat_turns: int = 0
    closed_leads: int = 0
    tracker: TrackerReport | None = None  # Rasa's tracker store (run_job() only)

    def summary(self) -> str:
        """One line of counts (no personal data), for the log and the command's output."""
        line = (f"purged {self.transcripts} transcript(s) and {self.chat_turns} chat turn(s) older than "
                f"{settings.CHAT_RETENTION_DAYS} days; erased {self.closed_leads} lead(s) closed more than "
                f"{settings.CLOSED_LEAD_RETENTION_DAYS} days ago")
        if self.tracker is not None:
            t = self.tracker
            line += (f"; tracker store: deleted {t.conversations_deleted} conversation(s) ({t.events_deleted} event(s)) older than "
                     f"{settings.CHAT_RETENTION_DAYS} days, masked {t.events_masked} event(s) in {t.conversations_masked} conversation(s)")
        return line


def purge(url: str | None = None, now: datetime | None = None, chat_days: int | None = None,
          closed_days: int | None = None, tracker_db: str | Path | None = None) -> PurgeReport:
    """Delete chat text older than chat_days and closed leads closed more than closed_days ago."""
    now = now or utcnow()
    chat_cutoff = now - timedelta(days=settings.CHAT_RETENTION_DAYS if chat_days is None else chat_days)
    closed_cutoff = now - timedelta(days=settings.CLOSED_LEAD_RETENTION_DAYS if closed_days is None else closed_days)
    report = PurgeReport()
    with db.session_scope(url) as session:
        for lead in session.scalars(select(Lead).where(Lead.status == "closed", Lead.closed_at < closed_cutoff)).all():
            erase_lead(session, lead, actor="system", reason="retention_erase", tracker_db=tracker_db)
            report.closed_leads += 1
        for lead in session.scalars(select(Lead).where(Lead.transcript.is_not(None), Lead.transcript_purged_at.is_(None),
                                                       Lead.created_at < chat_cutoff)).all():
            lead.transcript = None
            lead.transcript_purged_at = now
            audit.record(session, "purge_transcript", lead, actor="system")
            report.transcripts += 1
        report.chat_turns = session.execute(delete(ChatTurn).where(ChatTurn.at < chat_cutoff)).rowcount or 0
    return report


# ---------------------------------------------------------------- the scheduled job

@contextmanager
def job_lock(url: str | None = None) -> Iterator[bool]:
    """True while this process holds the retention lock, False if another run holds it now."""
    url = db.database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        with db.get_engine(url).connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                    conn.commit()
        return
    database = parsed.database
    if not database or database == ":memory:":
        yield True
        return
    lock_file = Path(database).with_name(Path(database).name + ".retention.lock")
    with open(lock_file, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_job(url: str | None = None, tracker_db: str | Path | None = None, now: datetime | None = None) -> PurgeReport | None:
    """The whole retention job (app database, then Rasa's tracker store); None if another run holds the lock."""
    with job_lock(url) as got:
        if not got:
            log.info("retention: another run is in progress; skipped")
            return None
        report = purge(url, now, tracker_db=tracker_db)
        report.tracker = tracker_privacy.run(tracker_db, now)
    log.info("retention: %s", report.summary())
    return report


class RetentionScheduler(threading.Thread):
    """Runs the retention job every `interval_s` seconds in the background until stopped."""

    def __init__(self, url: str | None, tracker_db: str | Path | None, interval_s: float):
        super().__init__(name="retention", daemon=True)
        self.url, self.tracker_db, self.interval_s = url, tracker_db, interval_s
        self.stopped = threading.Event()
        self.runs = 0

    def run(self) -> None:
        # The first run is one interval after the start, so workers started together do not all
        # run at once, and a short-lived app (tests, a worker restarted in a loop) does not run it.
        while not self.stopped.wait(self.interval_s):
            try:
                run_job(self.url, self.tracker_db)
            except Exception:
                log.exception("retention: the run failed; will try again")
            self.runs += 1

    def stop(self) -> None:
        self.stopped.set()
