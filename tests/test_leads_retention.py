"""Retention: chat text older than 30 days and leads closed more than 12 months ago are deleted
(the defaults match what knowledge/topics/service.about.yml promises movers)."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta

from sqlalchemy import func, select

import settings
from web.leads import db
from web.leads.models import AuditEntry, ChatTurn, Consent, Lead, utcnow
from web.leads.retention import RetentionScheduler, purge
from web.leads.service import record_turn

TRANSCRIPT = [{"who": "user", "text": "Jak znaleźć mieszkanie?", "at": "2026-01-01T10:00:00Z"}]


def age(url: str, reference: str, days: int, status: str | None = None, closed_days: int | None = None) -> None:
    with db.session_scope(url) as s:
        lead = s.scalar(select(Lead).where(Lead.reference == reference))
        lead.created_at = utcnow() - timedelta(days=days)
        if status:
            lead.status = status
        if closed_days is not None:
            lead.closed_at = utcnow() - timedelta(days=closed_days)


def test_defaults_match_the_privacy_text():
    about = (settings.KNOWLEDGE_DIR / "topics" / "service.about.yml").read_text(encoding="utf-8")
    assert "chat text for 30 days" in about and "12 months after your case is closed" in about
    assert settings.CHAT_RETENTION_DAYS == 30 and settings.CLOSED_LEAD_RETENTION_DAYS == 365


def test_purge_removes_old_chat_text_and_long_closed_leads_only(leads_db, make_lead):
    fresh = make_lead(transcript=TRANSCRIPT)
    old_open = make_lead(transcript=TRANSCRIPT)
    age(leads_db, old_open, 31)
    closed_long_ago = make_lead(transcript=TRANSCRIPT, name="Old Closed")
    age(leads_db, closed_long_ago, 500, "closed", 366)
    closed_recently = make_lead(transcript=TRANSCRIPT)
    age(leads_db, closed_recently, 200, "closed", 300)
    record_turn("s", "pl", "stare pytanie", "decline", None, database_url=leads_db)
    record_turn("s", "pl", "nowe pytanie", "decline", None, database_url=leads_db)
    with db.session_scope(leads_db) as s:
        s.scalar(select(ChatTurn).where(ChatTurn.text == "stare pytanie")).at = utcnow() - timedelta(days=31)

    report = purge(leads_db)
    assert (report.transcripts, report.chat_turns, report.closed_leads) == (2, 1, 1)
    with db.session_scope(leads_db) as s:
        leads = {lead.reference: lead for lead in s.scalars(select(Lead))}
        assert set(leads) == {fresh, old_open, closed_recently}
        assert leads[fresh].transcript == TRANSCRIPT
        assert leads[old_open].transcript is None and leads[old_open].transcript_purged_at is not None
        assert leads[old_open].name and leads[old_open].consent is not None  # the lead itself stays while open
        assert leads[closed_recently].transcript is None
        assert s.scalars(select(ChatTurn.text)).all() == ["nowe pytanie"]
        assert s.scalar(select(func.count()).select_from(Consent)) == 3
        stub = s.scalars(select(AuditEntry).where(AuditEntry.reference == closed_long_ago)).all()
        assert stub[-1].action == "retention_erase" and all(e.lead_id is None for e in stub)
    assert purge(leads_db).transcripts == 0  # nothing left to do


def test_retention_command(leads_db, make_lead, tmp_path):
    closed = make_lead()
    age(leads_db, closed, 800, "closed", 400)
    env = {**os.environ, "MOVE_DATABASE_URL": leads_db, "MOVE_CLOSED_LEAD_RETENTION_DAYS": "365", "PYTHONPATH": str(settings.ROOT),
           "MOVE_TRACKER_DB": str(tmp_path / "no-tracker-yet.db")}
    result = subprocess.run([str(settings.ROOT / ".venv" / "app" / "bin" / "flask"), "--app", "web", "leads", "retention"], env=env,
                            capture_output=True, text=True, cwd=settings.ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "erased 1 lead(s) closed more than 365 days ago" in result.stdout
    assert "tracker store: deleted 0 conversation(s)" in result.stdout
    assert not (tmp_path / "no-tracker-yet.db").exists()  # Rasa has stored nothing yet: no file is made for it
    with db.session_scope(leads_db) as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 0


def test_the_scheduler_thread_runs_the_job_by_itself(leads_db, make_lead, tmp_path):
    closed = make_lead()
    age(leads_db, closed, 800, "closed", 400)
    scheduler = RetentionScheduler(leads_db, tmp_path / "no-tracker.db", interval_s=0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while scheduler.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
        scheduler.join(timeout=30)
    assert scheduler.runs >= 1
    with db.session_scope(leads_db) as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 0
