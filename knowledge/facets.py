"""Which part of a topic a follow-up asks about: the cost, the time, how to apply, whom to contact.

A follow-up ("and how much does it cost?", "ile to trwa?", "kur pateikti prašymą?") is answered
from the current topic's paragraph or bullet that fits it best (Retriever.passages). Sentence
embeddings alone often miss what kind of fact is asked for, so a passage that has that kind of
fact (an amount, a duration, an e-service or a phone number) gets a small bonus. The cue words
are in the five languages, folded (no diacritics).
"""

from __future__ import annotations

import re

from knowledge.textnorm import fold

BONUS = 0.03  # added to a passage's cosine similarity when it has the kind of fact asked for

_QUESTION_CUES = {
    "cost": r"""\b(cost|costs|price|how\s+much|fee|fees|pay|free|expensive|cheap|kostar|kosta|kostnad|avgift|pris|gratis|betala
               |ile|koszt|kosztuje|oplat\w*|darmo\w*|bezplat\w*|placi\w*|kiek|kainuoja|kaina|mokest\w*|nemokam\w*|moket\w*|cik
               |maksa\w*|cena|samaksa\w*)\b""",
    "time": r"""\b(how\s+long|long|when|wait|waiting|weeks|days|deadline|hur\s+lang|hur\s+lange|nar|vanta|tid|tar|trwa|dlugo|kiedy
               |czeka\w*|termin\w*|kiek\s+laiko|kada|laukti|uztrunka|terminas|ilgi|kad|gaid\w*)\b""",
    "apply": r"""\b(apply|application|register|sign\s+up|where\s+do|ansok\w*|soka|soker|anmal\w*|registrer\w*|var\s+(soker|ansoker)
                |vart|zlozyc|wniosek|zapis\w*|zglos\w*|gdzie|sklada\w*|kreip\w*|pateik\w*|prasym\w*|registr\w*|kur|pieteik\w*
                |iesniedz\w*|iesniegt)\b""",
    "contact": r"""\b(phone|number|contact|call|email|address|telefon\w*|kontakt\w*|ring|adress|numer|zadzwon\w*|susisiek\w*
                  |skambin\w*|adres\w*|zvan\w*|sazin\w*|numurs)\b""",
}
_PASSAGE_CUES = {
    "cost": r"""(\d[\d\s\u00a0,.]*\s*(kr\b|sek\b|kronor|koron|kronu|kronas|kronos|%|eur)|\b(free|gratis|avgiftsfri\w*|kostnadsfri\w*
               |bezplat\w*|darmow\w*|nemokam\w*|bez\s+maksas|fee|avgift\w*|oplat\w*|mokest\w*|maksa\w*)\b)""",
    "time": r"""(\d+\s*(week|day|month|year|veck|dag|manad|ar\b|tydz|tygodn|dni|miesi|lat\b|savait|dien|menes|met|nedel|mene|gad)
               |\b(deadline|senast|termin\w*|within|inom|w\s+ciagu|per|laika)\b)""",
    "apply": r"""(\b[\w-]+\.se\b|e-tj\w*|e-serv\w*|e-uslug\w*|e\.\s*paslaug\w*|e-pakalp\w*|\bapply|\bansok\w*|\bwniosek|\bprasym\w*|\bpieteik\w*)""",
    "contact": r"""(\+46|\b0\d{2,3}[-\s]\d|@|\btel\b|\bphone|\btelefon\w*|\bkontakt\w*|\bsusisiek\w*|\bsazin\w*)""",
}
_QUESTION = {k: re.compile(v, re.VERBOSE) for k, v in _QUESTION_CUES.items()}
_PASSAGE = {k: re.compile(v, re.VERBOSE) for k, v in _PASSAGE_CUES.items()}


def asked(text: str) -> set[str]:
    """The kinds of fact a question asks for (cost, time, apply, contact); empty when unclear."""
    folded = " ".join(fold(text).split())
    return {facet for facet, pattern in _QUESTION.items() if pattern.search(folded)}


def bonus(passage: str, facets: set[str]) -> float:
    """BONUS when the passage has a fact of a kind the question asks for."""
    if not facets:
        return 0.0
    folded = fold(passage)
    return BONUS if any(_PASSAGE[f].search(folded) for f in facets) else 0.0
