"""Masking personal data in chat text (emails, phone numbers, identity numbers, street addresses).

Chat text is kept for insights and as a copy in a lead, and a lead's own message is stored and
exported; the privacy text promises that such details in them are masked. Identity numbers: Swedish
personnummer / samordningsnummer, Polish PESEL, Lithuanian asmens kodas, Latvian personas kods.
Phone numbers: anything phonenumbers finds for the movers' countries, plus long digit runs as a
safety net. Street addresses: a street and a house number as written in Swedish ("Storgatan 12"),
Polish ("ul. Długa 5/3"), Lithuanian ("Gedimino pr. 9"), Latvian ("Brīvības iela 10") and English
("221B Baker Street"); the postcode and town alone are left.
"""

from __future__ import annotations

import re

import phonenumbers

EMAIL_MASK, PHONE_MASK, ID_MASK, ADDRESS_MASK = "[email]", "[phone]", "[id number]", "[address]"

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

_LETTER = r"[^\W\d_]"
_WORD = rf"{_LETTER}(?:{_LETTER}|['’.-])*"  # a street name word: "Długa", "Gedimino", "Św.", "O'Connell"
# A house number, with a letter, a flat or a range: 12, 12A, 5/3, 10-5, "12 lgh 1101", "5 m. 3", "10 dz. 4".
_NUMBER = (rf"\d{{1,4}}(?!\d)[A-Za-z]?(?!{_LETTER})(?:\s?[/-]\s?\d{{1,4}}(?!\d)[A-Za-z]?(?!{_LETTER}))?"
           rf"(?:,?\s*(?:lgh|m|dz|apt|flat|butas|bt)\.?\s*\d{{1,4}}(?!\d))?")
ADDRESS_RES = (
    # Swedish: the street type is the end of the name (Storgatan, Kungsvägen, Lillgränd) or a word of its own.
    re.compile(rf"\b{_LETTER}+(?:gatan|gata|vägen|gränd|gränden|allén|backen|stigen|torget|leden|esplanaden|promenaden)"
               rf"\s+{_NUMBER}", re.IGNORECASE),
    re.compile(rf"\b{_WORD}\s+(?:väg|gata|gränd|allé|torg)\s+{_NUMBER}", re.IGNORECASE),
    # Polish: the street type first (ul. Długa 5, ulicy Długiej 5/3, al. Jana Pawła II 10, pl. Grunwaldzki 2).
    re.compile(rf"(?<!{_LETTER})(?:(?:ul|al|pl|os)\.\s*|(?:ulica|ulicy|ulicę|aleja|alei|aleję|plac|placu|osiedle|osiedlu)\s+)"
               rf"(?:{_WORD}\s+){{0,3}}{_WORD}\s+{_NUMBER}", re.IGNORECASE),
    # Lithuanian (Gedimino pr. 9, Vilniaus g. 10-5, Vilniaus gatvėje 10) and Latvian (Brīvības iela 10, Brīvības ielā 10).
    re.compile(rf"\b{_WORD}\s+(?:(?:g|pr|al|skg)\.|gatvė|gatvėje|gatvės|prospektas|prospekte|alėja|alėjoje|"
               rf"iela|ielā|ielas|bulvāris|bulvārī|bulv\.|prospekts|prospektā|gatve|gatvē|šoseja|šosejā|aleja|alejā|dambis)"
               rf"\s*{_NUMBER}", re.IGNORECASE),
    # English: the number first (12 Baker Street, 221B Baker St, 5 High Road).
    re.compile(rf"\b\d{{1,4}}[A-Za-z]?,?\s+(?:{_WORD}\s+){{1,3}}(?:street|road|avenue|lane|drive|boulevard|crescent|terrace)\b",
               re.IGNORECASE),
    re.compile(r"\b\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][\w'’-]*\s+){1,3}(?:St|Rd|Ave|Ln|Dr|Way|Close|Court|Place|Square|Blvd|Gardens)\b\.?"),
)


def mask_personal_data(text: str) -> str:
    """The text with emails, phone numbers, street addresses and identity numbers replaced by [email],
    [phone], [address], [id number]."""
    if not text or ("@" not in text and not any(ch.isdigit() for ch in text)):
        return text  # all of them have a digit or an "@": most chat text has nothing to mask
    text = EMAIL_RE.sub(EMAIL_MASK, text)
    text = INTERNATIONAL_RE.sub(PHONE_MASK, text)
    for pattern in ADDRESS_RES:
        text = pattern.sub(ADDRESS_MASK, text)
    for pattern in ID_RES:
        text = pattern.sub(ID_MASK, text)
    for region in REGIONS:
        matches = list(phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID))
        for match in reversed(matches):
            text = text[: match.start] + PHONE_MASK + text[match.end :]
    return LONG_NUMBER_RE.sub(PHONE_MASK, text)
