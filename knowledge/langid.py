"""Which of the five languages a message is written in, and whether the user asks for one.

lingua restricted to en, sv, pl, lt, lv is ~99 % right on questions but unreliable on one- to
three-word messages ("hej", "sveiki", "ok"): below MIN_WORDS or MIN_CONFIDENCE the caller keeps
the conversation's language (design.md §3).
"""

from __future__ import annotations

import functools
import re

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from knowledge.textnorm import fold

MIN_WORDS = 3
MIN_CONFIDENCE = 0.7

_LINGUA = {
    "en": Language.ENGLISH,
    "sv": Language.SWEDISH,
    "pl": Language.POLISH,
    "lt": Language.LITHUANIAN,
    "lv": Language.LATVIAN,
}

# Words that settle the language on their own, even in a one-word message ("sveiki" is both
# Lithuanian and Latvian, so it is not here).
_MARKERS = {
    "en": "hello hi hey thanks thank please",
    "sv": "hej hejsan tack tjena god morgon nej okej hejda inte vet",
    "pl": "czesc dzien dobry dziekuje dzieki prosze witam tak dobrze nie wiem",
    "lt": "labas laba diena aciu prasau gerai taip nezinau labai sveikas",
    "lv": "labdien labrit paldies ludzu cau labi nezinu sveiks",
}
# Letters only one of the five languages uses: a short message with one of them settles it.
_LETTERS = {"sv": "åäö", "pl": "łńóśźżć", "lt": "ėįų", "lv": "āēīķļņģ"}
_MARKER_WORD = {word: lang for lang, text in _MARKERS.items() for word in text.split()}

# "answer in English", "po polsku", "lietuviškai", "latviski", "på svenska" ...
_REQUEST_PATTERNS = {
    "en": r"\b((in|to|into) english|english please|po angielsku|na angielski|angliskai|angliski|pa angliski|pa angliskai|i anglu"
          r"|uz anglu|pa engelska|till engelska)\b",
    "sv": r"\b((in|to|into) swedish|pa svenska|till svenska|po szwedzku|na szwedzki|svediskai|i svedu|zviedriski|pa zviedriski"
          r"|uz zviedru)\b",
    "pl": r"\b((in|to|into) polish|po polsku|na polski|pa polska|till polska|lenkiskai|i lenku|poliski|pa poliski|uz polu)\b",
    "lt": r"\b((in|to|into) lithuanian|lietuviskai|i lietuviu|po litewsku|na litewski|pa litauiska|till litauiska|lietuviski"
          r"|pa lietuviski|uz lietuviesu)\b",
    "lv": r"\b((in|to|into) latvian|latviski|latviskai|i latviu|pa latviski|uz latviesu|po lotewsku|na lotewski|pa lettiska"
          r"|till lettiska)\b",
}
_REQUEST = {lang: re.compile(p) for lang, p in _REQUEST_PATTERNS.items()}
# A longer message names a language as a request only with a word like "answer", "write" or
# "please" ("can you answer in Polish?"); "can he get lessons in Lithuanian?" is a question.
_REQUEST_CUES = re.compile(
    r"\b(answer|reply|respond|speak|talk|write|switch|change|continue|please|can you|could you|svara|prata|tala|skriv|byt"
    r"|kan du|skriva|fortsatt|odpowiadaj|odpowiedz|mow|pisz|pisac|napisz|prosze|mozesz|przejdz|atsakyk|atsakykite|atsakinek"
    r"|kalbek|kalbekite|rasyk|rasykite|rasyt|rasyti|prasau|galite|galit|gali|atbildi|atbildiet|runa|runajiet|raksti|rakstiet"
    r"|rakstit|ludzu|vari|varat)\b")

# Swedish names and terms that movers write in any language ("How much is förskola in Luleå?").
# They say nothing about the language of the message, so detection ignores them.
_SWEDISH_TERMS = frozenset(fold(w) for w in """
lulea luleå luleo luleja luleoje lulei luleą norrbotten norrbottens boden kiruna pitea piteå
porson porsön gammelstad bergnaset bergnäset hertson hertsön kronan sunderby kallax
lulebo skatteverket forsakringskassan försäkringskassan arbetsformedlingen arbetsförmedlingen
platsbanken migrationsverket socialstyrelsen skolverket bolagsverket verksamt csn uhr ltu llt
kommun kommunen region sfi komvux vuxenutbildning forskola förskola fritids grundskola gymnasium
gymnasiet personnummer samordningsnummer folkbokforing folkbokföring bankid swish id-kort
bostadsko bostadskö bostadsratt bostadsrätt hyresratt hyresrätt andrahand forstahand förstahand
hemforsakring hemförsäkring vardcentral vårdcentral barnbidrag föräldrapenning foraldrapenning
a-kassa akassa kundcenter maxtaxa lediga jobb f-skatt kulturens hus stegra ssab lkab
""".split())


@functools.cache
def _detector():
    return LanguageDetectorBuilder.from_languages(*_LINGUA.values()).with_preloaded_language_models().build()


def detect(text: str) -> tuple[str | None, float]:
    """The most likely language and its confidence; (None, 0.0) when there is nothing to go by.
    For one- or two-word messages lingua's guess is returned with a confidence capped below
    MIN_CONFIDENCE: usable when nothing else is known, never enough to switch a conversation."""
    kept = [w for w in text.split() if fold(w).strip("!?.,:;()") not in _SWEDISH_TERMS]
    words = [fold(w).strip("!?.,:;()") for w in kept]
    words = [w for w in words if w]
    if not words:
        return None, 0.0
    if len(words) < MIN_WORDS:
        lowered = " ".join(kept).casefold()
        markers = {lang for lang, letters in _LETTERS.items() if any(ch in lowered for ch in letters)}
        if not markers:
            markers = {_MARKER_WORD[w] for w in words if w in _MARKER_WORD}
        if len(markers) == 1:
            return markers.pop(), 1.0
    values = _detector().compute_language_confidence_values(" ".join(kept))
    best = values[0]
    code = best.language.iso_code_639_1
    lang = next(k for k, v in _LINGUA.items() if v.iso_code_639_1 == code)
    confidence = best.value if len(words) >= MIN_WORDS else min(best.value, MIN_CONFIDENCE / 2)
    return lang, confidence


def requested_language(text: str) -> str | None:
    """The language the user explicitly asks the bot to use, if any."""
    folded = fold(text)
    if len(folded) > 80:
        return None
    hits = [lang for lang, pattern in _REQUEST.items() if pattern.search(folded)]
    if len(hits) != 1 or (len(folded.split()) > 3 and not _REQUEST_CUES.search(folded)):
        return None
    return hits[0]


def choose_language(text: str, current: str | None, ui_lang: str | None, default: str = "en") -> str:
    """The language to answer in: an explicit request, then a confident detection, else the
    conversation's language, else the widget's UI language."""
    asked = requested_language(text)
    if asked:
        return asked
    lang, confidence = detect(text)
    if lang and confidence >= MIN_CONFIDENCE:
        return lang
    return current or ui_lang or lang or default


assert all(isinstance(v.iso_code_639_1, IsoCode639_1) for v in _LINGUA.values())
