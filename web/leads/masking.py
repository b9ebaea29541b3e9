"""Masking personal data in chat text (emails, phone numbers, identity numbers).

Chat text is kept for insights and as a copy in a lead; the privacy text promises that such details
in it are masked. Identity numbers: Swedish personnummer / samordningsnummer, Polish PESEL,
Lithuanian asmens kodas, Latvian personas kods. Phone numbers: anything phonenumbers finds for
the movers' countries, plus long digit runs as a safety net.
"""

from __future__ import annotations

import re

import phonenumbers

EMAIL_MASK, PHONE_MASK, ID_MASK = "[email]", "[phone]", "[id number]"

EMAIL_RE = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"']+")
ID_RES = (
    re.compile(r"(?<!\d)(?:19|20)?\d{6}[-+ ]?\d{4}(?!\d)"),  # SE personnummer, 10 or 12 digits
    re.compile(r"(?<!\d)[0-3]\d[01]\d\d{2}-?\d{5}(?!\d)"),  # LV personas kods DDMMYY-NNNNN
    re.compile(r"(?<!\d)3\d{10}(?!\d)"),  # LV new-style code 32xxxxxxxxx
    re.compile(r"(?<!\d)[1-6]\d{10}(?!\d)"),  # LT asmens kodas (gender/century digit first)
    re.compile(r"(?<!\d)\d{11}(?!\d)"),  # PL PESEL
)
# Numbers written with a country code go first, so +48601234567 is a phone, not an identity number.
INTERNATIONAL_RE = re.compile(r"(?<![\w+])(?:\+|00)[1-9](?:[\s().-]?\d){6,14}(?!\d)")
# A safety net for numbers phonenumbers does not recognise: + or 0 and at least 7 digits in groups.
LONG_NUMBER_RE = re.compile(r"(?<![\w+])0\d(?:[\s().-]?\d){6,12}(?!\d)")
REGIONS = ("SE", "PL", "LT", "LV", "NO", "FI", "DE", "GB")


def mask_personal_data(text: str) -> str:
    """The text with emails, phone numbers and identity numbers replaced by [email], [phone], [id number]."""
    if not text:
        return text
    text = EMAIL_RE.sub(EMAIL_MASK, text)
    text = INTERNATIONAL_RE.sub(PHONE_MASK, text)
    for pattern in ID_RES:
        text = pattern.sub(ID_MASK, text)
    for region in REGIONS:
        matches = list(phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID))
        for match in reversed(matches):
            text = text[: match.start] + PHONE_MASK + text[match.end :]
    return LONG_NUMBER_RE.sub(PHONE_MASK, text)
