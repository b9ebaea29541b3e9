"""Changing leads as staff work them: status, assignment (the assignee gets an email), duplicates
(same email address or phone number) and merging two of them. Each change is in the status history
and the audit log; the caller commits."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased

from web.leads import audit
from web.leads.models import (
    AuditEntry,
    Consent,
    Lead,
    LeadTopic,
    Note,
    OutboxMessage,
    StaffUser,
    StatusChange,
    utcnow,
)

# The email to the staff member a lead is assigned to, in their language: reference and link only.
ASSIGNED_EMAIL = {
    "en": ("Contact request {reference} was assigned to you",
           "{actor} assigned contact request {reference} to you in Move to Luleå.\n\n"
           "Open it in the staff workspace (sign-in required):\n{link}\n"),
    "sv": ("Kontaktförfrågan {reference} har tilldelats dig",
           "{actor} har tilldelat dig kontaktförfrågan {reference} i Flytta till Luleå.\n\n"
           "Öppna den på arbetsytan (inloggning krävs):\n{link}\n"),
}


def set_status(session: Session, lead: Lead, new: str, *, actor: str, staff_id: int | None) -> bool:
    """Move the lead to `new` (closing or reopening it); False if it already was."""
    if new == lead.status:
        return False
    old = lead.status
    lead.status = new
    lead.closed_at = utcnow() if new == "closed" else None
    lead.history.append(StatusChange(from_status=old, to_status=new, changed_at=utcnow(), changed_by_id=staff_id))
    audit.record(session, "status", lead, actor=actor, staff_id=staff_id, detail=f"{old} -> {new}")
    return True


def assign(session: Session, lead: Lead, assignee: StaffUser | None, *, actor: str, staff_id: int | None, public_url: str) -> bool:
    """Assign the lead (None: to nobody); the assignee gets an email unless they assigned it themselves.
    False if it already was theirs."""
    new_id = assignee.id if assignee else None
    if new_id == lead.assigned_to_id:
        return False
    lead.assigned_to_id = new_id
    audit.record(session, "assign", lead, actor=actor, staff_id=staff_id, detail=f"to {assignee.email if assignee else 'nobody'}")
    if assignee is not None and assignee.id != staff_id:
        link = f"{public_url.rstrip('/')}/staff/leads/{lead.reference}"
        now = utcnow()
        subject, body = ASSIGNED_EMAIL["sv" if assignee.language == "sv" else "en"]
        values = {"actor": actor, "reference": lead.reference, "link": link}
        session.add(OutboxMessage(lead_id=lead.id, kind="assigned", created_at=now, next_attempt_at=now, to_address=assignee.email,
                                  author_id=staff_id, subject=subject.format(**values), body=body.format(**values)))
    return True


def duplicates_of(session: Session, lead: Lead) -> list[Lead]:
    """Other leads with the same email address (any case) or the same phone number."""
    same = [func.lower(Lead.email) == lead.email.lower()]
    if lead.phone:
        same.append(Lead.phone == lead.phone)
    return list(session.scalars(select(Lead).where(Lead.id != lead.id, or_(*same)).order_by(Lead.created_at)))


def with_duplicates():
    """A subquery of the ids of leads that have a duplicate (for the list's "Possible duplicates" view)."""
    other = aliased(Lead)
    return (select(Lead.id).join(other, (other.id != Lead.id)
                                 & or_(func.lower(other.email) == func.lower(Lead.email),
                                       (other.phone == Lead.phone) & Lead.phone.is_not(None))))


def merge(session: Session, keep: Lead, other: Lead, *, actor: str, staff_id: int | None) -> None:
    """Merge `other` into `keep`: its consent records, notes, status history, emails and audit entries
    move over (both consent records are kept), topics are joined, missing contact details filled in,
    its message and conversation kept; its chat session is remembered so erasing `keep` erases that
    conversation too. Then `other` is deleted; the audit log says which reference went where."""
    if keep.id == other.id:
        raise ValueError("a lead cannot be merged into itself")
    now = utcnow()
    for model in (Consent, Note, StatusChange, OutboxMessage, AuditEntry):
        session.execute(update(model).where(model.lead_id == other.id).values(lead_id=keep.id))
    for topic in set(other.topic_ids) - set(keep.topic_ids):
        session.add(LeadTopic(lead_id=keep.id, topic=topic))
    keep.phone = keep.phone or other.phone
    keep.profession = keep.profession or other.profession
    if keep.assigned_to_id is None:
        keep.assigned_to_id = other.assigned_to_id
    if other.message and other.message != keep.message:
        session.add(Note(lead_id=keep.id, author_id=staff_id, created_at=now,
                         body=f"Message of {other.reference} (merged into this lead on {now:%Y-%m-%d}):\n{other.message}"))
    if other.transcript:
        keep.transcript = [*(keep.transcript or []), *other.transcript]
    sessions = [*(keep.merged_sessions or []), other.session_id, *(other.merged_sessions or [])]
    keep.merged_sessions = [s for s in dict.fromkeys(sessions) if s and s != keep.session_id] or None
    session.flush()
    other_reference = other.reference
    session.expire(other)
    session.delete(other)
    session.flush()
    session.expire(keep)
    audit.record(session, "merge", keep, actor=actor, staff_id=staff_id, detail=f"merged {other_reference} into this lead")
