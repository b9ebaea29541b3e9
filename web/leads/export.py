"""Leads as CSV that Excel opens correctly: UTF-8 with a byte order mark (so ą, ė, ļ, ż … survive),
";" between columns by default (what Excel expects with Swedish, Polish and Baltic regional
settings; MOVE_CSV_DELIMITER changes it), and formula-like cells neutralised (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from web.leads.masking import mask_personal_data
from web.leads.models import Lead

STAFF_TZ = ZoneInfo("Europe/Stockholm")
COLUMNS = ("reference", "created", "status", "name", "email", "phone", "country", "profession", "help_topics", "household",
           "move_when", "preferred_language", "chat_language", "source", "message", "assigned_to", "consent_version",
           "consent_given")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _local(dt) -> str:
    return dt.astimezone(STAFF_TZ).strftime("%Y-%m-%d %H:%M") if dt else ""


def row(lead: Lead) -> list[str]:
    consent = lead.consent
    values = {
        "reference": lead.reference, "created": _local(lead.created_at), "status": lead.status, "name": lead.name,
        "email": lead.email, "profession": lead.profession, "country": lead.country,
        "help_topics": ", ".join(lead.topic_ids), "household": lead.household, "move_when": lead.move_when,
        "preferred_language": lead.preferred_language, "chat_language": lead.chat_language, "source": lead.source,
        "message": mask_personal_data(lead.message or ""), "assigned_to": lead.assigned_to.email if lead.assigned_to else "",
        "consent_version": consent.version if consent else "", "consent_given": _local(consent.given_at) if consent else "",
    }
    out = [_cell(values.get(c)) for c in COLUMNS if c != "phone"]
    out.insert(COLUMNS.index("phone"), lead.phone or "")  # validated E.164 (+48…): kept as written
    return out


def leads_csv(leads: Iterable[Lead], delimiter: str = ";") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for lead in leads:
        writer.writerow(row(lead))
    return buffer.getvalue().encode("utf-8-sig")
