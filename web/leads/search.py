"""Search that ignores case and accents the same way on SQLite and PostgreSQL: every lead keeps a
folded copy of its name, email, phone digits and reference (leads.search_text, filled whenever a
lead is written), and a query is folded the same way, so "żółkiewska", "ŻÓŁKIEWSKA" and
"Zolkiewska" all find "Żółkiewska", and "601 234 567" finds +48601234567."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import event

# Letters that Unicode does not decompose into a base letter and an accent.
EXTRA = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ı": "i", "þ": "th", "ð": "d", "ħ": "h"})
PHONE_QUERY = re.compile(r"^[+(\d][\d\s().\-/]*$")
MIN_PHONE_DIGITS = 3


def fold(text: str) -> str:
    """Lower case without accents: "Żółkiewska" -> "zolkiewska", "Bērziņš" -> "berzins"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(EXTRA)


def digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def search_text(name: str | None, email: str | None, phone: str | None, reference: str | None) -> str:
    """What the list's search looks in; fields separated by a character no query can contain."""
    return "\x1f".join((fold(name or ""), fold(email or ""), digits(phone), fold(reference or "")))


def query_terms(query: str) -> tuple[str, str | None]:
    """The folded query, and its digits when it looks like a phone number (else None)."""
    folded = fold(" ".join(query.split()))
    phone = digits(query) if PHONE_QUERY.match(query.strip()) and len(digits(query)) >= MIN_PHONE_DIGITS else None
    return folded, phone


def keep_search_text_current(lead_class) -> None:
    """Recompute a lead's search_text whenever it is inserted or updated (any code path)."""

    def update(_mapper, _connection, lead) -> None:
        lead.search_text = search_text(lead.name, lead.email, lead.phone, lead.reference)

    event.listen(lead_class, "before_insert", update)
    event.listen(lead_class, "before_update", update)
