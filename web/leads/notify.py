"""Email through the outbox table: to staff about every new lead, staff replies to movers, and a
note to the staff member a lead is assigned to.

create_lead only adds an outbox row (so the chat never waits for a mail server); so do a reply and
an assignment on the staff pages. send_due()
sends what is due, and reschedules failures with exponential backoff (30 s, 1 min, 2 min, ... at
most an hour) until the server accepts the mail. It runs in a background thread of the web
process (NotificationSender) and from `flask --app web leads send-notifications`; a row is
claimed with a conditional UPDATE first, so two senders never mail the same lead twice.

The new-lead email carries as little personal data as possible: reference, country, topics, a
link. A reply is the text staff wrote; when the first reply to a new lead is delivered, the lead
becomes "contacted" (by the reply's author).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, or_, select, update

import settings
from web.leads import countries, db
from web.leads.models import AuditEntry, Lead, OutboxMessage, StaffUser, StatusChange, utcnow

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 30
BACKOFF_MAX_S = 3600
CLAIM_S = 120
SECURITY = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class MailConfig:
    host: str = ""
    port: int = 25
    user: str = ""
    password: str = field(default="", repr=False)
    security: str = "none"
    timeout_s: float = 10.0
    mail_from: str = "move-to-lulea@localhost"
    notify_to: str = ""
    public_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_settings(cls) -> MailConfig:
        return cls(host=settings.SMTP_HOST, port=settings.SMTP_PORT, user=settings.SMTP_USER, password=settings.SMTP_PASSWORD,
                   security=settings.SMTP_SECURITY, timeout_s=settings.SMTP_TIMEOUT_S, mail_from=settings.MAIL_FROM,
                   notify_to=settings.LEADS_NOTIFY_TO, public_url=settings.PUBLIC_URL)

    @property
    def configured(self) -> bool:
        """Every kind of email can be sent (new-lead notifications need MOVE_LEADS_NOTIFY_TO too)."""
        return bool(self.host and self.notify_to)

    @property
    def can_send(self) -> bool:
        """Replies and assignment emails can be sent (they have their own recipient)."""
        return bool(self.host)


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones."""
    return timedelta(seconds=min(BACKOFF_FIRST_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def build_message(lead: Lead, config: MailConfig) -> EmailMessage:
    """The notification: reference, country, topics and a link; no name, email, phone or message."""
    link = f"{config.public_url.rstrip('/')}/staff/leads/{lead.reference}"
    msg = EmailMessage()
    msg["Subject"] = f"New contact request {lead.reference}"
    msg["From"] = config.mail_from
    msg["To"] = config.notify_to
    msg.set_content(
        f"A new contact request has arrived in Move to Luleå.\n\n"
        f"Reference: {lead.reference}\n"
        f"Country: {countries.name(lead.country)}\n"
        f"Topics: {', '.join(lead.topic_ids)}\n"
        f"Received: {lead.created_at:%Y-%m-%d %H:%M} UTC\n\n"
        f"Open it in the staff workspace (sign-in required):\n{link}\n"
    )
    return msg


def compose(row: OutboxMessage, lead: Lead, config: MailConfig) -> EmailMessage:
    """The email an outbox row stands for."""
    if row.kind == "new_lead":
        return build_message(lead, config)
    msg = EmailMessage()
    msg["Subject"] = row.subject or lead.reference
    msg["From"] = config.mail_from
    msg["To"] = row.to_address
    msg.set_content(row.body or "")
    return msg


def _first_reply_delivered(session, row: OutboxMessage, lead: Lead) -> None:
    """A delivered reply is on the lead's audit log; the first one to a new lead makes it "contacted"."""
    now = utcnow()
    author = session.get(StaffUser, row.author_id) if row.author_id else None
    actor = author.email if author else "system"
    session.add(AuditEntry(at=now, staff_id=row.author_id, actor=actor, action="reply_sent", lead_id=lead.id,
                           reference=lead.reference, detail=f"reply {row.id} delivered"))
    if lead.status == "new":
        lead.status = "contacted"
        session.add(StatusChange(lead_id=lead.id, from_status="new", to_status="contacted", changed_at=now, changed_by_id=row.author_id))
        session.add(AuditEntry(at=now, staff_id=row.author_id, actor=actor, action="status", lead_id=lead.id,
                               reference=lead.reference, detail="new -> contacted (first reply sent)"))


def deliver(message: EmailMessage, config: MailConfig) -> None:
    if config.security not in SECURITY:
        raise ValueError(f"MOVE_SMTP_SECURITY must be one of {', '.join(SECURITY)}")
    if config.security == "ssl":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
    with client:
        if config.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if config.user:
            client.login(config.user, config.password)
        client.send_message(message)


def _claim(url: str | None, row_id: int, now: datetime) -> bool:
    with db.session_scope(url) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.sent_at.is_(None),
                   or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
            .values(claimed_until=now + timedelta(seconds=CLAIM_S))
        )
        return result.rowcount == 1


def pending_count(url: str | None = None) -> int:
    return pending_summary(url)[0]


def pending_summary(url: str | None = None) -> tuple[int, str | None]:
    """How many emails wait in the outbox, and the newest delivery error among them (None if none failed)."""
    with db.session_scope(url) as session:
        count = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) or 0
        error = session.scalar(select(OutboxMessage.last_error).where(OutboxMessage.sent_at.is_(None), OutboxMessage.last_error.is_not(None))
                               .order_by(OutboxMessage.next_attempt_at.desc()).limit(1)) if count else None
    return count, error


def send_due(config: MailConfig, url: str | None = None, now: datetime | None = None, limit: int = 50) -> SendReport:
    """Send every notification that is due; failures are kept and retried later with backoff."""
    report = SendReport()
    if not config.can_send:
        return report
    now = now or utcnow()
    with db.session_scope(url) as session:
        query = (select(OutboxMessage.id)
                 .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now,
                        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
                 .order_by(OutboxMessage.next_attempt_at).limit(limit))
        if not config.notify_to:  # new-lead notifications wait until the team's address is set
            query = query.where(OutboxMessage.kind != "new_lead")
        due = session.scalars(query).all()
    for row_id in due:
        if not _claim(url, row_id, now):
            continue
        with db.session_scope(url) as session:
            row = session.get(OutboxMessage, row_id)
            lead = session.get(Lead, row.lead_id) if row else None
            if row is None or lead is None:  # erased meanwhile: the cascade removed it
                continue
            message = compose(row, lead, config)
            reference, kind = lead.reference, row.kind
        try:
            deliver(message, config)
        except Exception as exc:  # any failure: keep the row and try again later
            error = f"{type(exc).__name__}: {exc}"[:500]
            with db.session_scope(url) as session:
                row = session.get(OutboxMessage, row_id)
                if row is not None:
                    row.attempts += 1
                    row.last_error = error
                    row.next_attempt_at = now + backoff(row.attempts)
                    row.claimed_until = None
            report.failed += 1
            report.errors.append(f"{reference}: {error}")
            log.warning("%s email for %s not sent (%s); will retry", kind, reference, error)
            continue
        with db.session_scope(url) as session:
            row = session.get(OutboxMessage, row_id)
            if row is not None:
                row.attempts += 1
                row.sent_at = utcnow()
                row.last_error = None
                row.claimed_until = None
                lead = session.get(Lead, row.lead_id)
                if row.kind == "reply" and lead is not None:
                    _first_reply_delivered(session, row, lead)
        report.sent += 1
        log.info("%s email for %s sent", kind, reference)
    return report


class NotificationSender(threading.Thread):
    """Sends due notifications every `interval_s` seconds in the background until stopped."""

    def __init__(self, config: MailConfig, url: str | None, interval_s: float):
        super().__init__(name="lead-notifications", daemon=True)
        self.config, self.url, self.interval_s = config, url, interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        if not self.config.can_send:
            log.warning("emails: MOVE_SMTP_HOST not set; emails wait in the outbox")
            return
        if not self.config.notify_to:
            log.warning("lead notifications: MOVE_LEADS_NOTIFY_TO not set; new-lead emails wait in the outbox (replies are sent)")
        while not self.stopped.is_set():
            try:
                send_due(self.config, self.url)
            except Exception:
                log.exception("lead notifications: sending failed; will try again")
            self.stopped.wait(self.interval_s)

    def stop(self) -> None:
        self.stopped.set()
