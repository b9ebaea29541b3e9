"""Normalising what a mover types: email addresses, phone numbers and free text.

Well-kept libraries do the hard part (email-validator for addresses without DNS look-ups, Google's
phonenumbers for numbers), so the chat, the contact form and the store accept exactly the same input.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_CHARS = 254


def normalise_email(text: str) -> str | None:
    """The normalised address (domain lower-cased, Unicode NFC), or None if it is not a valid one."""
    if not isinstance(text, str):
        return None
    candidate = clean_line(text)
    if not candidate or len(candidate) > MAX_EMAIL_CHARS:
        return None
    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def normalise_phone(text: str) -> str | None:
    """E.164 ("+48601234567") for a valid number written with its country code (+...), else None.

    The international form is required because movers write from several countries: without the
    + we cannot tell a Polish from a Swedish number."""
    if not isinstance(text, str):
        return None
    candidate = clean_line(text)
    if not candidate.startswith("+") or len(candidate) > 40:
        return None
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_text(value: str) -> str:
    """Drop control and format characters (keeping newlines and tabs), normalise to NFC, trim."""
    kept = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return unicodedata.normalize("NFC", kept.replace("\r\n", "\n")).strip()


def clean_line(value: str) -> str:
    """clean_text for one-line fields: any run of whitespace becomes one space."""
    return " ".join(clean_text(value).split())
