"""The audit log: every view and change of a lead, by whom and when.

Entries never hold a mover's personal data (only the reference, the action and e.g. field names
or status values), so they can outlive an erased lead as its anonymous stub."""

from __future__ import annotations

from sqlalchemy.orm import Session

from web.leads.models import AuditEntry, Lead, utcnow

ACTIONS = ("create", "view", "status", "assign", "note", "export", "erase", "purge_transcript", "retention_erase", "reply",
           "reply_sent", "merge", "country")


def record(session: Session, action: str, lead: Lead | None = None, *, actor: str, staff_id: int | None = None,
           reference: str | None = None, detail: str = "") -> AuditEntry:
    entry = AuditEntry(at=utcnow(), action=action, actor=actor, staff_id=staff_id, lead_id=lead.id if lead else None,
                       reference=lead.reference if lead else reference, detail=detail)
    session.add(entry)
    return entry
