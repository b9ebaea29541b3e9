"""Countries as ISO 3166-1 alpha-2 codes, with their names in the five languages (CLDR data from
Babel), and what movers type mapped to a code: "Polska", "Lenkija", "Polija", "Poland", "Polen",
"pl" all become PL, in any case and with or without diacritics.

Leads store the code; a country nobody can recognise is kept as typed (so no request is lost) and
shown as such."""

from __future__ import annotations

import re
from functools import cache

from babel import Locale

from web.leads.search import fold

LANGUAGES = ("en", "sv", "pl", "lt", "lv")
# CLDR territories that are not countries (regions, groupings, unknown).
NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}
# Names movers write that CLDR does not list under the country.
ALIASES = {
    "GB": ("uk", "great britain", "britain", "england", "scotland", "wales", "northern ireland", "anglia", "didžioji britanija",
           "lielbritānija", "wielka brytania", "storbritannien", "england"),
    "US": ("usa", "us", "america", "amerika", "ameryka", "jav", "asv"),
    "NL": ("holland", "holandia", "olandija", "holande"),
    "CZ": ("czech republic", "czechia", "tjeckien", "czechy", "čekija", "čehija"),
    "RU": ("russian federation",),
}


@cache
def codes() -> tuple[str, ...]:
    territories = Locale.parse("en").territories
    return tuple(sorted(c for c in territories if re.fullmatch(r"[A-Z]{2}", c) and c not in NOT_COUNTRIES))


@cache
def _names(lang: str) -> dict[str, str]:
    territories = Locale.parse(lang).territories
    return {code: territories.get(code, code) for code in codes()}


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", fold(text)).split())


@cache
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for code in codes():
        table[code.casefold()] = code
    for lang in LANGUAGES:
        for code, name in _names(lang).items():
            table.setdefault(_key(name), code)
    for code, names in ALIASES.items():
        for name in names:
            table.setdefault(_key(name), code)
    return table


def to_code(text: str | None) -> str | None:
    """The ISO code for a country name typed in one of the five languages (or the code itself), else None."""
    if not isinstance(text, str) or len(text) > 100:
        return None
    return _lookup().get(_key(text))


def name(value: str | None, lang: str = "en") -> str:
    """The country's name in `lang` for a stored code; anything else (a name nobody recognised) as it is."""
    if not value:
        return ""
    return _names(lang if lang in LANGUAGES else "en").get(value, value)


def is_code(value: str | None) -> bool:
    return bool(value) and value in _names("en")


def choices(lang: str = "en") -> list[tuple[str, str]]:
    """(code, name) for every country, sorted by name in `lang`."""
    names = _names(lang if lang in LANGUAGES else "en")
    return sorted(names.items(), key=lambda item: fold(item[1]))
