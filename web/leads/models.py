"""The tables of the app database: leads and what hangs off them, staff users, audit log, outbox, chat turns.

The schema itself is created and changed only by the Alembic migrations in migrations/ (this module
is their reference: `alembic revision --autogenerate` compares against it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from web.leads.search import keep_search_text_current

STATUSES = ("new", "contacted", "in_progress", "moved", "closed")
HELP_TOPICS = ("work", "education", "housing", "admin", "life", "other")
HOUSEHOLDS = ("alone", "partner", "children")
MOVE_WHEN = ("soon", "half_year", "later")
ROLES = ("staff", "editor")
STAFF_LANGUAGES = ("sv", "en")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python on every backend (SQLite keeps no time zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every signed-in session (web.staff.auth): raised on sign-out and on a new password, which
    # ends every session signed in before, copied cookies included.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    language: Mapped[str] = mapped_column(String(8), default="sv", server_default="sv")  # of the staff pages: sv or en


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(100), index=True)  # ISO 3166-1 code; as typed if not recognised
    profession: Mapped[str] = mapped_column(String(300), default="")
    household: Mapped[str] = mapped_column(String(16))
    move_when: Mapped[str] = mapped_column(String(16))
    preferred_language: Mapped[str] = mapped_column(String(8), index=True)
    chat_language: Mapped[str] = mapped_column(String(8))
    message: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(64))
    transcript: Mapped[list | None] = mapped_column(JSON)
    transcript_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    assigned_to: Mapped[StaffUser | None] = relationship()
    topics: Mapped[list[LeadTopic]] = relationship(cascade="all, delete-orphan", passive_deletes=True, order_by="LeadTopic.topic")
    # Normally one; a lead that another was merged into keeps the consent records of both.
    consents: Mapped[list[Consent]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                   order_by="Consent.given_at")
    notes: Mapped[list[Note]] = relationship(cascade="all, delete-orphan", passive_deletes=True, order_by="Note.created_at")
    history: Mapped[list[StatusChange]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                       order_by="StatusChange.changed_at")
    replies: Mapped[list[OutboxMessage]] = relationship(
        primaryjoin="and_(Lead.id == foreign(OutboxMessage.lead_id), OutboxMessage.kind == 'reply')",
        order_by="OutboxMessage.created_at", viewonly=True)

    # Folded name, email, phone digits and reference for the list's search (web.leads.search; kept
    # current by an event on every insert and update).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The chat sessions of leads merged into this one: erasing this lead erases their conversations too.
    merged_sessions: Mapped[list | None] = mapped_column(JSON)

    @property
    def consent(self) -> Consent | None:
        """The first consent record (the one the lead was created with)."""
        return self.consents[0] if self.consents else None

    @consent.setter
    def consent(self, record: Consent) -> None:
        self.consents = [record]

    @property
    def topic_ids(self) -> list[str]:
        order = {topic: i for i, topic in enumerate(HELP_TOPICS)}
        return sorted((t.topic for t in self.topics), key=lambda topic: order.get(topic, len(order)))


class LeadTopic(Base):
    __tablename__ = "lead_topics"

    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class Consent(Base):
    """The record of consent: the exact text shown, its version (hash), language and time."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str] = mapped_column(String(8))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Note(Base):
    __tablename__ = "lead_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[StaffUser | None] = relationship()


class StatusChange(Base):
    __tablename__ = "lead_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    changed_by: Mapped[StaffUser | None] = relationship()


class AuditEntry(Base):
    """Who viewed or changed which lead and when. Holds no mover's personal data, so it outlives
    an erased lead as its anonymous stub (reference, action, time)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254))  # staff email, or "system" / "chat" / "contact_form"
    action: Mapped[str] = mapped_column(String(32))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    reference: Mapped[str | None] = mapped_column(String(16), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


OUTBOX_KINDS = ("new_lead", "reply", "assigned")


class OutboxMessage(Base):
    """An email waiting to be sent (retried with backoff until delivered): the team's notification of
    a new lead ("new_lead"), a staff member's reply to the mover ("reply", its text kept as the thread
    on the lead), or a note to the staff member a lead was assigned to ("assigned")."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_due", "sent_at", "next_attempt_at"), Index("ix_outbox_lead_kind", "lead_id", "kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16), default="new_lead", server_default="new_lead")
    to_address: Mapped[str | None] = mapped_column(String(254))  # None: MOVE_LEADS_NOTIFY_TO (new_lead)
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL", name="fk_outbox_author"))

    author: Mapped[StaffUser | None] = relationship()


class ChatTurn(Base):
    """One question and the bot's decision, for the insights page (text masked; kept 30 days)."""

    __tablename__ = "chat_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    session_id: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str | None] = mapped_column(String(80))


keep_search_text_current(Lead)
