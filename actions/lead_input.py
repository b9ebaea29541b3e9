"""What a mover wrote or pressed at a step of the contact form, in any of the five languages.

The form never trusts Rasa's intent classifier for typed answers: DIET is over-confident on
short texts, and a name such as "Anna" must never be read as "cancel". Buttons arrive as exact
payloads (checked by web/payloads.py); typed answers are matched against small word lists per
language after folding case and diacritics ("Atšaukti" = "atsaukti"), whole message or whole
words only, so a free-text message that merely contains "cancel" is kept as a message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import settings
from knowledge.textnorm import fold
from web.leads.service import HELP_TOPICS
from web.payloads import CORRECTABLE_FIELDS, INFORM_CHOICES

# The form's questions, in order: field name (as in /correct{"field": "email"}) -> its slot.
FIELDS: dict[str, str] = {name: f"lead_{name}" for name in CORRECTABLE_FIELDS}
FORM_SLOTS: tuple[str, ...] = (*FIELDS.values(), "lead_confirm", "lead_consent")

# Longest answers the form accepts (the lead store allows more; a chat answer needs less).
MAX_NAME_CHARS = 100
MAX_NAME_WORDS = 6
MAX_LINE_CHARS = 100
MAX_PROFESSION_CHARS = 300


def payload(intent: str, **entity: str) -> str:
    """The canonical button payload, exactly as web/payloads.py returns it."""
    return f"/{intent}" + (json.dumps(entity, separators=(",", ":"), ensure_ascii=False) if entity else "")


def normalise(text: str) -> str:
    """Folded words separated by single spaces: ' Nie, dziękuję! ' -> 'nie dziekuje'."""
    return " ".join(re.findall(r"[^\W_]+", fold(text)))


def _phrases(text: str) -> frozenset[str]:
    return frozenset(normalise(line) for line in text.strip().splitlines() if normalise(line))


# Whole answers (after normalise) per meaning, all five languages together: the sets barely
# overlap, and a Pole who types "ok" or a Swede who types "stop" means the same thing.
CANCEL = _phrases("""
cancel
cancel it
cancel please
please cancel
i want to cancel
cancel the request
stop
quit
exit
abort
never mind
nevermind
forget it
avbryt
avbryt tack
jag vill avbryta
sluta
stoppa
glöm det
anuluj
anulować
chcę anulować
przerwij
rezygnuję
zrezygnuj
atšaukti
atšauk
noriu atšaukti
nutraukti
atcelt
atceļ
gribu atcelt
pārtraukt
""")

SKIP = _phrases("""
skip
skip it
skip this
pass
hoppa över
hoppa
nästa
pomiń
pomin to
pomiń to
dalej
praleisti
praleisk
toliau
izlaist
izlaid
tālāk
""")

# "No" / "nothing" to an optional question means the same as Skip.
NOTHING = _phrases("""
no
nope
no thanks
no thank you
none
nothing
nothing else
n a
not now
nej
nej tack
inget
ingenting
inget mer
nie
nie dziękuję
nie trzeba
nic
nic więcej
brak
ne
ne ačiū
nieko
nieko daugiau
nėra
nē
nē paldies
nekas
nav
""")

YES = _phrases("""
yes
yes i agree
yes please
yeah
yep
y
ok
okay
sure
agree
i agree
i consent
correct
that is correct
that's correct
everything is correct
looks good
all good
ja
ja tack
japp
okej
jag godkänner
godkänner
jag samtycker
det stämmer
stämmer
allt stämmer
tak
tak zgadzam się
zgadzam się
zgoda
dobrze
jasne
wszystko się zgadza
zgadza się
taip
taip sutinku
sutinku
gerai
tinka
viskas teisinga
teisingai
jā
jā piekrītu
piekrītu
labi
der
pareizi
viss pareizi
""")

NO = _phrases("""
no
nope
no i do not agree
i do not agree
i don't agree
i disagree
no thanks
nej
nej tack
jag godkänner inte
nie
nie zgadzam się
nie dziękuję
ne
nesutinku
ne nesutinku
nē
nepiekrītu
nē nepiekrītu
""")

DONE = _phrases("""
done
i am done
that's all
that is all
that's it
finished
next
continue
klar
klart
färdig
det är allt
fortsätt
gotowe
to wszystko
dalej
baigta
viskas
toliau
tęsti
gatavs
tas ir viss
viss
turpināt
tālāk
""")

CORRECT = _phrases("""
change
change something
change a detail
correct something
edit
fix
i want to change something
ändra
ändra en uppgift
rätta
zmień
popraw
popraw dane
chcę coś zmienić
pakeisti
pakeisti duomenis
pataisyti
mainīt
labot
labot datus
""")

# Words naming a form field, for typed corrections at the summary ("change my email").
FIELD_WORDS: dict[str, frozenset[str]] = {
    name: frozenset(normalise(w) for w in words.split())
    for name, words in {
        "name": "name namn imię nazwisko vardas pavardė vārds uzvārds",
        "email": "email e-mail mail e-post epost adres adress pastas paštas e-pastas e-pasts epasts",
        "phone": "phone telephone mobile number telefon telefonnummer mobil numer telefonas numeris tālrunis tālruņa numurs",
        "country": "country land kraj šalis valsts",
        "profession": "profession job occupation field yrke område zawód branża profesija sritis joma nozare",
        "topics": "topics topic help hjälp ämnen pomoc tematy pagalba temos palīdzība tēmas",
        "household": "household family partner children hushåll familj rodzina dzieci šeima vaikai ģimene bērni",
        "move_when": "when date moving move när flytt flytten kiedy przeprowadzka termin kada kraustymasis kad pārcelšanās",
        "language": "language språk język kalba valoda",
        "message": "message meddelande wiadomość žinutė ziņa",
    }.items()
}
FIELD_WORDS["email"] |= {"e mail", "e post", "el pastas", "e pasts"}

# Word beginnings (folded) that point to a help topic in a typed answer ("praca i mieszkanie").
TOPIC_STEMS: dict[str, tuple[str, ...]] = {
    "work": ("work", "job", "jobs", "employ", "career", "arbet", "jobb", "anstall", "prac", "zatrud", "darb", "idarb"),
    "education": ("educat", "stud", "school", "universit", "course", "sfi", "utbild", "skol", "kurs", "nauk", "szkol",
                  "uczel", "eduk", "moksl", "mokykl", "universitet", "izglit", "macib"),
    "housing": ("hous", "apartment", "flat", "rent", "accommod", "home", "bostad", "boend", "lagenhet", "hyr", "mieszk",
                "wynaj", "zakwater", "bust", "buta", "buto", "nuom", "majokl", "dzivokl", "ire"),
    "admin": ("regist", "personnum", "tax", "taxes", "bank", "health", "paper", "formal", "document", "insur", "folkbok", "skatt",
              "sjukv", "vardcentr", "forsakr", "podat", "meldun", "dokument", "zdrow", "ubezp", "mokesc", "sveikat", "draud",
              "nodokl", "veselib", "apdrosin", "registr"),
    "life": ("life", "everyday", "leisure", "climate", "transport", "culture", "sport", "vardag", "fritid", "klimat",
             "zyci", "codzien", "wypoczyn", "gyvenim", "kasdien", "laisvalaik", "dzive", "ikdien", "brivais", "kultur"),
    "other": ("other", "else", "annat", "nagot annat", "inne", "innego", "kita", "kitka", "cits", "cita", "kas cits"),
}

# Language names as movers write them, in the five languages (folded word beginnings).
LANGUAGE_STEMS: dict[str, tuple[str, ...]] = {
    "en": ("english", "engelsk", "angiel", "anglu", "anglisk", "angli"),
    "sv": ("swedish", "svensk", "szwedz", "svedu", "svedisk", "zviedr"),
    "pl": ("polish", "polsk", "polsku", "lenk", "polu", "polisk"),
    "lt": ("lithuan", "litau", "litew", "lietuv"),
    "lv": ("latvi", "lett", "lotew", "latv"),
}

HOUSEHOLD_WORDS: dict[str, tuple[str, ...]] = {
    # "children" wins over "partner": a family with children needs school and preschool answers.
    "children": ("child", "kid", "kids", "famil", "son", "daughter", "barn", "dzieci", "dziec", "syn", "corka", "rodzin",
                 "vaik", "sunu", "dukr", "seim", "bern", "meit", "gimen"),
    "partner": ("partner", "wife", "husband", "spouse", "girlfriend", "boyfriend", "fiance", "sambo", "fru", "make",
                "maka", "flickvan", "pojkvan", "zona", "zon", "maz", "meza", "mezem", "mezu", "narzecz", "dziewczyn", "chlopak", "zmon",
                "vyra", "vyru", "draug", "siev", "virs", "viru", "draudzen", "pora"),
    "alone": ("alone", "myself", "just me", "only me", "single", "ensam", "bara jag", "sjalv", "sam", "sama", "tylko ja",
              "samotn", "vienas", "viena", "tik as", "vien", "viens", "tikai es"),
}

MOVE_WORDS: dict[str, tuple[str, ...]] = {
    "soon": ("soon", "asap", "as soon as possible", "now", "immediately", "this month", "next month", "snart", "genast",
             "nu", "sa snart som mojligt", "wkrotce", "niedlugo", "zaraz", "jak najszybciej", "teraz", "greitai", "netrukus",
             "kuo greiciau", "dabar", "driz", "tulit", "pec iespejas driz", "tagad"),
    "half_year": ("half a year", "half year", "halvar", "halvt ar", "ett halvt", "pol roku", "pusmet", "pusgad", "pus gada"),
    "later": ("later", "not sure", "don t know", "dont know", "no idea", "undecided", "next year", "senare", "vet inte",
              "osaker", "nasta ar", "pozniej", "nie wiem", "jeszcze nie wiem", "w przyszlym roku", "veliau", "nezinau",
              "dar nezinau", "kitais metais", "velak", "nezinu", "vel nezinu", "nakamgad", "nakamaja gada"),
}
_MONTHS = re.compile(r"\b(\d{1,3})\s*(months?|manad\w*|miesi\w*|menes\w*|menu)\b")
_YEARS = re.compile(r"\b(\d{1,2})\s*(years?|ar|aren|lat|lata|rok|roku|lat|metu|metus|metai|gad\w*)\b")


@dataclass(frozen=True)
class Turn:
    """One user message as the form sees it."""

    text: str                                   # what was typed (or the raw payload)
    is_payload: bool                            # a button press (web/ only lets offered payloads through)
    intent: str                                 # the payload's intent; "" for typed text
    entities: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_message(cls, message: dict) -> Turn:
        text = (message.get("text") or "").strip()
        is_payload = text.startswith("/")
        intent = ((message.get("intent") or {}).get("name") or "") if is_payload else ""
        entities = {str(e.get("entity")): e.get("value") for e in message.get("entities") or [] if isinstance(e.get("value"), str)}
        return cls(text=text, is_payload=is_payload, intent=intent, entities=entities if is_payload else {})

    @property
    def words(self) -> str:
        return "" if self.is_payload else normalise(self.text)

    def pressed(self, intent: str) -> bool:
        return self.is_payload and self.intent == intent

    def choice(self, entity: str) -> str | None:
        """The value of an /inform{entity: value} button, if that is what was pressed."""
        value = self.entities.get(entity) if self.pressed("inform") else None
        return value if value in INFORM_CHOICES.get(entity, ()) else None

    # Typed meanings: the whole answer, or (for short answers) one of its words.
    def _means(self, phrases: frozenset[str], max_words: int = 4) -> bool:
        said = self.words
        if not said:
            return False
        if said in phrases:
            return True
        tokens = said.split()
        return len(tokens) <= max_words and any(t in phrases for t in tokens if len(t) > 3)

    def is_cancel(self) -> bool:
        return self.pressed("cancel") or self._means(CANCEL, max_words=2)

    def is_skip(self) -> bool:
        return self.pressed("skip") or self.words in SKIP or self.words in NOTHING

    def is_skip_word(self) -> bool:
        """Typed or pressed Skip (not "no"): at a required question it earns "this one is needed"."""
        return self.pressed("skip") or self.words in SKIP

    def is_yes(self) -> bool:
        return self.pressed("affirm") or self.words in YES

    def is_no(self) -> bool:
        return self.pressed("deny") or self.words in NO

    def is_done(self) -> bool:
        return self.pressed("done") or self.words in DONE or self.words in YES

    def is_correct(self) -> bool:
        return (self.pressed("correct") and "field" not in self.entities) or self._means(CORRECT, max_words=5)


def correction_field(turn: Turn) -> str | None:
    """Which field the mover wants to change: a /correct{"field": ...} button or a field named in words."""
    if turn.pressed("correct"):
        value = turn.entities.get("field")
        return value if value in FIELDS else None
    tokens = turn.words.split()
    if not tokens or len(tokens) > 6:
        return None
    said = " ".join(tokens)
    found = [name for name, words in FIELD_WORDS.items() if any(w in tokens or (" " in w and w in said) for w in words)]
    return found[0] if len(found) == 1 else None


def _stem_hits(text: str, stems: tuple[str, ...]) -> bool:
    tokens = text.split()
    return any((" " in s and f" {s} " in f" {text} ") or any(t.startswith(s) if len(s) >= 4 else t == s for t in tokens) for s in stems)


def topics_in(text: str) -> list[str]:
    """Help topics named in a typed answer, in HELP_TOPICS order."""
    said = normalise(text)
    return [t for t in HELP_TOPICS if _stem_hits(said, TOPIC_STEMS[t])]


def language_in(text: str) -> str | None:
    said = normalise(text)
    if said in settings.LANGUAGES:
        return said
    found = [lang for lang, stems in LANGUAGE_STEMS.items() if _stem_hits(said, stems)]
    return found[0] if len(found) == 1 else None


def household_in(text: str) -> str | None:
    said = normalise(text)
    return next((h for h in ("children", "partner", "alone") if _stem_hits(said, HOUSEHOLD_WORDS[h])), None)


def move_when_in(text: str) -> str | None:
    """soon (within 3 months), half_year (3-12 months) or later, from words or "in 2 months"."""
    said = normalise(text)
    months = _MONTHS.search(said)
    years = _YEARS.search(said)
    if months:
        n = int(months.group(1))
        return "soon" if n <= 3 else "half_year" if n <= 12 else "later"
    if years:
        return "half_year" if int(years.group(1)) <= 1 else "later"
    for key in ("later", "half_year", "soon"):
        if _stem_hits(said, MOVE_WORDS[key]):
            return key
    return None


_EMAIL_TOKEN = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
_PHONE_RUN = re.compile(r"\+[\d\s().\-/]{6,24}\d")


def email_candidates(text: str) -> list[str]:
    """The whole answer, then any address-like word in it ("my email is anna@example.pl.")."""
    return [text] + [m.rstrip(".") for m in _EMAIL_TOKEN.findall(text)]


def phone_candidates(text: str) -> list[str]:
    return [text] + _PHONE_RUN.findall(text)


_LETTER = re.compile(r"[^\W\d_]")


def plain_line(text: str, max_chars: int) -> bool:
    """A short one-line answer with at least one letter (country, profession)."""
    return bool(_LETTER.search(text)) and len(text) <= max_chars and "\n" not in text


def plausible_name(text: str) -> bool:
    """A name: letters, at most a few words, no digits, @ or question mark ("What?" is not a name)."""
    return (plain_line(text, MAX_NAME_CHARS) and len(text.split()) <= MAX_NAME_WORDS
            and not re.search(r"[\d@?/\\<>{}=_|#$%^*]", text))
