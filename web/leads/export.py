"""Leads as CSV that Excel opens correctly: UTF-8 with a byte order mark (so ą, ė, ļ, ż … survive),
";" between columns by default (what Excel expects with Swedish, Polish and Baltic regional
settings; MOVE_CSV_DELIMITER changes it), formula-like cells neutralised (CSV injection), words
instead of codes ("In progress", "Within six months", "Poland"), phone numbers as text (Excel would
drop the "+"), and the staff notes."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from web.leads.masking import mask_personal_data
from web.leads.models import Lead

STAFF_TZ = ZoneInfo("Europe/Stockholm")
COLUMNS = ("reference", "created", "status", "name", "email", "phone", "country", "profession", "help_topics", "household",
           "move_when", "preferred_language", "chat_language", "source", "message", "assigned_to", "consent_version",
           "consent_given", "notes")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"^\+[1-9]\d{5,14}$")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _phone(value: str | None) -> str:
    """A phone number Excel keeps as text with its "+": ="+48601234567" (only for a validated E.164
    number, so the cell is a constant string, never a formula anyone could inject)."""
    if value and E164.match(value):
        return f'="{value}"'
    return _cell(value)


def _local(dt) -> str:
    return dt.astimezone(STAFF_TZ).strftime("%Y-%m-%d %H:%M") if dt else ""


def _as_is(_kind: str, value: str) -> str:
    return value


def _notes(lead: Lead) -> str:
    return "\n\n".join(f"{_local(n.created_at)} {n.author.email if n.author else 'former staff member'}: {n.body}" for n in lead.notes)


def row(lead: Lead, label: Callable[[str, str], str] = _as_is) -> list[str]:
    """One lead's cells; `label(kind, value)` turns codes into words (kinds: status, country, help_topic,
    household, move, language, source)."""
    consent = lead.consent
    values = {
        "reference": lead.reference, "created": _local(lead.created_at), "status": label("status", lead.status), "name": lead.name,
        "email": lead.email, "profession": lead.profession, "country": label("country", lead.country),
        "help_topics": ", ".join(label("help_topic", t) for t in lead.topic_ids), "household": label("household", lead.household),
        "move_when": label("move", lead.move_when), "preferred_language": label("language", lead.preferred_language),
        "chat_language": label("language", lead.chat_language), "source": label("source", lead.source),
        "message": mask_personal_data(lead.message or ""), "assigned_to": lead.assigned_to.email if lead.assigned_to else "",
        "consent_version": consent.version if consent else "", "consent_given": _local(consent.given_at) if consent else "",
        "notes": _notes(lead),
    }
    return [_phone(lead.phone) if c == "phone" else _cell(values.get(c)) for c in COLUMNS]


def leads_csv(leads: Iterable[Lead], delimiter: str = ";", label: Callable[[str, str], str] = _as_is) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for lead in leads:
        writer.writerow(row(lead, label))
    return buffer.getvalue().encode("utf-8-sig")
