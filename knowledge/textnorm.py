"""Text normalisation for lexical search: lower-casing, diacritic folding, stop words, stemming.

Folding makes "wynajac" match "wynająć" and "Lulea" match "Luleå"; stems are computed before
folding (the Snowball stemmers expect the real letters) and folded afterwards.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import Stemmer
from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP
from spacy.lang.lt.stop_words import STOP_WORDS as LT_STOP
from spacy.lang.lv.stop_words import STOP_WORDS as LV_STOP
from spacy.lang.pl.stop_words import STOP_WORDS as PL_STOP
from spacy.lang.sv.stop_words import STOP_WORDS as SV_STOP

# Letters that Unicode does not decompose into base letter + accent.
_EXTRA_FOLDS = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ı": "i"})
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_STEMMERS = {"en": "english", "sv": "swedish", "pl": "polish", "lt": "lithuanian"}
# Latvian has no Snowball stemmer: a word prefix is a robust stand-in.
PREFIX_LEN = 5


def fold(text: str) -> str:
    """Lower-case and remove diacritics: 'Łódź Luleå Kā' -> 'lodz lulea ka'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_EXTRA_FOLDS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


@functools.cache
def _stop_words(lang: str) -> frozenset[str]:
    words_ = {"en": EN_STOP, "sv": SV_STOP, "pl": PL_STOP, "lt": LT_STOP, "lv": LV_STOP}.get(lang, set())
    # Keep short, frequent function words only: spaCy's Lithuanian list also holds content words.
    return frozenset(fold(w) for w in words_ if len(w) <= 6)


@functools.cache
def _stemmer(lang: str):
    name = _STEMMERS.get(lang)
    return Stemmer.Stemmer(name) if name else None


def terms(text: str, lang: str) -> list[str]:
    """The search terms of `text` read as language `lang`: stemmed, folded, without stop words."""
    tokens = words(text)
    stop = _stop_words(lang)
    stemmer = _stemmer(lang)
    stems = stemmer.stemWords(tokens) if stemmer else [t[:PREFIX_LEN] for t in tokens]
    out = []
    for token, stem in zip(tokens, stems, strict=True):
        folded = fold(token)
        if folded in stop or len(folded) < 2:
            continue
        out.append(fold(stem))
    return out
