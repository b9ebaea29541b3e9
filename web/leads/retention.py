"""Erasure (GDPR) and retention.

erase_lead deletes a lead with everything that hangs off it (consent record, transcript, notes,
status history, pending notification) and leaves only an anonymous audit stub: the reference,
who erased it and when. purge() applies the retention periods promised in
knowledge/topics/service.about.yml: chat text is kept CHAT_RETENTION_DAYS (30), a closed lead is
erased CLOSED_LEAD_RETENTION_DAYS (365) after closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import settings
from web.leads import audit, db
from web.leads.models import ChatTurn, Lead, utcnow


def erase_lead(session: Session, lead: Lead, *, actor: str, staff_id: int | None = None, reason: str = "erase") -> str:
    """Delete the lead and its data; the audit log keeps only reference, action, actor and time."""
    reference = lead.reference
    session.delete(lead)
    session.flush()
    audit.record(session, reason, actor=actor, staff_id=staff_id, reference=reference)
    return reference


@dataclass
class PurgeReport:
    transcripts: int = 0
    chat_turns: int = 0
    closed_leads: int = 0


def purge(url: str | None = None, now: datetime | None = None, chat_days: int | None = None,
          closed_days: int | None = None) -> PurgeReport:
    """Delete chat text older than chat_days and closed leads closed more than closed_days ago."""
    now = now or utcnow()
    chat_cutoff = now - timedelta(days=settings.CHAT_RETENTION_DAYS if chat_days is None else chat_days)
    closed_cutoff = now - timedelta(days=settings.CLOSED_LEAD_RETENTION_DAYS if closed_days is None else closed_days)
    report = PurgeReport()
    with db.session_scope(url) as session:
        for lead in session.scalars(select(Lead).where(Lead.status == "closed", Lead.closed_at < closed_cutoff)).all():
            erase_lead(session, lead, actor="system", reason="retention_erase")
            report.closed_leads += 1
        for lead in session.scalars(select(Lead).where(Lead.transcript.is_not(None), Lead.transcript_purged_at.is_(None),
                                                       Lead.created_at < chat_cutoff)).all():
            lead.transcript = None
            lead.transcript_purged_at = now
            audit.record(session, "purge_transcript", lead, actor="system")
            report.transcripts += 1
        report.chat_turns = session.execute(delete(ChatTurn).where(ChatTurn.at < chat_cutoff)).rowcount or 0
    return report
