"""Storing a contact request (a "lead") and recording chat turns: the interface the chat (action
server) and the fallback contact form (web app) share.

create_lead validates everything, then writes the lead (its free-text message masked), its consent
record, a masked copy of the conversation, an audit entry and a notification outbox row in one transaction, and returns the
reference code only after the commit: when the bot says "sent", the request is on disk.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

import settings
from web.leads import countries, db
from web.leads.masking import mask_personal_data
from web.leads.models import HELP_TOPICS, HOUSEHOLDS, MOVE_WHEN, AuditEntry, ChatTurn, Lead, LeadTopic, OutboxMessage, StatusChange
from web.leads.models import Consent as ConsentRecord
from web.leads.validation import clean_line, clean_text, normalise_email, normalise_phone

__all__ = [
    "HELP_TOPICS", "HOUSEHOLDS", "MOVE_WHEN", "SOURCES", "DECISIONS", "Consent", "LeadError", "LeadInput",
    "consent_version", "create_lead", "mask_personal_data", "record_turn", "new_reference",
]

log = logging.getLogger(__name__)

SOURCES = ("chat", "contact_form")
DECISIONS = ("answer", "clarify", "out_of_scope", "decline")

# Crockford base32 (no I, L, O, U): easy to read aloud and to type from a phone call.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "ML-"

LIMITS = {"name": 200, "country": 100, "profession": 300, "message": 4000, "consent": 4000}
MAX_TRANSCRIPT_ITEMS = 300
MAX_TRANSCRIPT_TEXT = 4000
MAX_TURN_TEXT = 2000


class LeadError(ValueError):
    """Invalid lead data: `field` names the LeadInput/Consent field, `message` says what is wrong (English)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class LeadInput:
    name: str
    email: str
    phone: str | None
    country: str
    profession: str
    help_topics: tuple[str, ...]
    household: str
    move_when: str
    preferred_language: str  # en sv pl lt lv
    message: str | None
    chat_language: str  # language of the conversation / form
    source: str  # "chat" or "contact_form"


@dataclass(frozen=True)
class Consent:
    text: str  # the exact consent text shown (phrases.yml ask_consent, in `lang`)
    lang: str
    given_at: datetime  # UTC
    version: str  # consent_version(text)


def consent_version(text: str) -> str:
    """First 12 hex digits of the SHA-256 of the consent text: which wording the mover agreed to."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def new_reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(4))


# ---------------------------------------------------------------- validation

def _text(field: str, value, *, required: bool, multiline: bool = False) -> str | None:
    if value is None:
        if required:
            raise LeadError(field, "is required")
        return None
    if not isinstance(value, str):
        raise LeadError(field, "must be text")
    cleaned = clean_text(value) if multiline else clean_line(value)
    if not cleaned:
        if required:
            raise LeadError(field, "is required")
        return None
    if len(cleaned) > LIMITS[field]:
        raise LeadError(field, f"is longer than {LIMITS[field]} characters")
    return cleaned


def _masked_text(value: str | None) -> str | None:
    """The mover's own message as stored: identity numbers, addresses, emails and phone numbers masked
    as in the transcript (the lead's own email and phone fields hold how to reach them)."""
    return mask_personal_data(value) if value else value


def _choice(field: str, value, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise LeadError(field, f"must be one of {', '.join(allowed)}")
    return value


def _country(value) -> str:
    """The ISO code of the country typed (names in the five languages are recognised), else the text as typed."""
    text = _text("country", value, required=True)
    return countries.to_code(text) or text


def _validated(data: LeadInput) -> dict:
    email = normalise_email(data.email) if isinstance(data.email, str) else None
    if email is None:
        raise LeadError("email", "is not a valid email address")
    phone = None
    if data.phone not in (None, ""):
        phone = normalise_phone(data.phone) if isinstance(data.phone, str) else None
        if phone is None:
            raise LeadError("phone", "is not a valid phone number with country code (+...)")
    topics = data.help_topics
    if isinstance(topics, str) or not isinstance(topics, tuple | list) or not topics:
        raise LeadError("help_topics", f"must be one or more of {', '.join(HELP_TOPICS)}")
    for topic in topics:
        _choice("help_topics", topic, HELP_TOPICS)
    return {
        "name": _text("name", data.name, required=True),
        "email": email,
        "phone": phone,
        "country": _country(data.country),
        "profession": _text("profession", data.profession, required=False) or "",
        "topics": sorted(set(topics), key=HELP_TOPICS.index),
        "household": _choice("household", data.household, HOUSEHOLDS),
        "move_when": _choice("move_when", data.move_when, MOVE_WHEN),
        "preferred_language": _choice("preferred_language", data.preferred_language, settings.LANGUAGES),
        "message": _masked_text(_text("message", data.message, required=False, multiline=True)),
        "chat_language": _choice("chat_language", data.chat_language, settings.LANGUAGES),
        "source": _choice("source", data.source, SOURCES),
    }


def _validated_consent(consent: Consent) -> Consent:
    if not isinstance(consent, Consent):
        raise LeadError("consent", "is required")
    if not isinstance(consent.text, str) or not consent.text.strip():
        raise LeadError("consent", "the consent text shown is required")
    if len(consent.text) > LIMITS["consent"]:
        raise LeadError("consent", "the consent text is too long")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in consent.text):
        raise LeadError("consent", "the consent text contains control characters")
    _choice("consent.lang", consent.lang, settings.LANGUAGES)
    if not isinstance(consent.given_at, datetime) or consent.given_at.tzinfo is None:
        raise LeadError("consent.given_at", "must be a time zone-aware datetime (UTC)")
    if consent.version != consent_version(consent.text):
        raise LeadError("consent.version", "does not match the consent text (use consent_version(text))")
    return consent


def _masked_transcript(transcript: list[dict] | None) -> list[dict] | None:
    if transcript is None:
        return None
    if not isinstance(transcript, list):
        raise LeadError("transcript", "must be a list of {who, text, at}")
    out = []
    for item in transcript[-MAX_TRANSCRIPT_ITEMS:]:
        if not isinstance(item, dict) or item.get("who") not in ("user", "bot") or not isinstance(item.get("text"), str):
            raise LeadError("transcript", "each item must be {who: user|bot, text: str, at: ISO time}")
        at = item.get("at")
        out.append({
            "who": item["who"],
            "text": mask_personal_data(clean_text(item["text"])[:MAX_TRANSCRIPT_TEXT]),
            "at": clean_line(at)[:40] if isinstance(at, str) else None,
        })
    return out


# ---------------------------------------------------------------- storing

def create_lead(data: LeadInput, consent: Consent, transcript: list[dict] | None = None,
                session_id: str | None = None, *, database_url: str | None = None) -> str:
    """Validate and store a lead durably; return its reference code ("ML-7K3Q").

    Raises LeadError(field, message) for invalid data (nothing is stored then). Database errors
    propagate: the caller must not tell the mover the request was sent."""
    if not isinstance(data, LeadInput):
        raise LeadError("data", "must be a LeadInput")
    fields = _validated(data)
    consent = _validated_consent(consent)
    masked = _masked_transcript(transcript)
    if session_id is not None and (not isinstance(session_id, str) or len(session_id) > 64 or clean_line(session_id) != session_id):
        raise LeadError("session_id", "must be at most 64 characters, without spaces or control characters")
    topics = fields.pop("topics")
    now = datetime.now(UTC)
    for _attempt in range(20):
        reference = new_reference()
        try:
            with db.session_scope(database_url) as session:
                erased = session.scalar(select(exists().where(AuditEntry.reference == reference)))
                if erased:  # a reference is never given out twice, not even after erasure
                    continue
                lead = Lead(reference=reference, created_at=now, status="new", session_id=session_id, transcript=masked, **fields)
                lead.topics = [LeadTopic(topic=t) for t in topics]
                lead.consent = ConsentRecord(text=consent.text, version=consent.version, lang=consent.lang,
                                             given_at=consent.given_at.astimezone(UTC))
                lead.history = [StatusChange(from_status=None, to_status="new", changed_at=now)]
                session.add(lead)
                session.flush()
                session.add(OutboxMessage(lead_id=lead.id, created_at=now, next_attempt_at=now))
                session.add(AuditEntry(at=now, actor=fields["source"], action="create", lead_id=lead.id, reference=reference,
                                       detail=f"source={fields['source']}"))
            log.info("lead %s stored (source=%s)", reference, fields["source"])
            return reference
        except IntegrityError:
            continue  # the same code was taken at the same moment: draw another
    raise RuntimeError("could not find a free reference code")


def record_turn(session_id: str, lang: str, text: str, decision: str, topic: str | None,
                *, database_url: str | None = None) -> None:
    """Record one chat turn (masked) for the insights page. Never raises: insights must not break a chat."""
    try:
        masked = mask_personal_data(clean_text(str(text or "")))[:MAX_TURN_TEXT]
        if not masked:
            return
        with db.session_scope(database_url) as session:
            session.add(ChatTurn(at=datetime.now(UTC), session_id=clean_line(str(session_id or ""))[:64], lang=clean_line(str(lang or ""))[:8],
                                 text=masked, decision=clean_line(str(decision or ""))[:16],
                                 topic=(clean_line(str(topic))[:80] or None) if topic else None))
    except Exception:
        log.exception("could not record a chat turn (ignored)")
