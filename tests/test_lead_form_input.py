"""The contact form understands typed answers in all five languages, never mistakes an ordinary
answer for "cancel", offers only buttons the chat API accepts, and stores a readable transcript."""

from __future__ import annotations

import pytest

import settings
from actions.lead_form import ALL_LEAD_SLOTS, question, summary_lines
from actions.lead_input import (
    FIELDS,
    FORM_SLOTS,
    Turn,
    correction_field,
    email_candidates,
    household_in,
    language_in,
    move_when_in,
    phone_candidates,
    plausible_name,
    topics_in,
)
from actions.transcript import build_transcript
from web import payloads
from web.leads.validation import normalise_email, normalise_phone


def typed(text: str) -> Turn:
    return Turn(text=text, is_payload=False, intent="")


# The word the intro tells the mover to write ("You can write “cancel” at any time").
CANCEL_WORDS = {"en": "cancel", "sv": "avbryt", "pl": "anuluj", "lt": "atšaukti", "lv": "atcelt"}


@pytest.mark.parametrize("text", [*CANCEL_WORDS.values(), "Cancel!", "ATŠAUKTI", "atsaukti", "Anuluj.", "stop", "avbryt tack",
                                  "never mind", "chcę anulować", "gribu atcelt"])
def test_cancel_words_in_every_language_cancel(text):
    assert typed(text).is_cancel()


@pytest.mark.parametrize("text", ["Anna Kowalska", "I need to cancel my lease in Riga before I move", "Stopień magistra",
                                  "nurse", "anna@example.pl", "+48 601 234 567", "nie", "Latvija"])
def test_ordinary_answers_are_not_cancel(text):
    assert not typed(text).is_cancel()


def test_a_cancel_button_cancels_and_a_typed_slash_does_not_act_as_one():
    assert Turn(text="/cancel", is_payload=True, intent="cancel").is_cancel()
    # web/api.py strips the slash from typed text; the form only trusts the payload's intent
    assert not Turn(text="/cancel", is_payload=True, intent="inform").is_cancel()


@pytest.mark.parametrize("text", ["skip", "Hoppa över", "pomiń", "Praleisti", "izlaist", "no", "nej tack", "nie", "ne", "nē", "nothing"])
def test_skip_and_no_skip_an_optional_question(text):
    assert typed(text).is_skip()


@pytest.mark.parametrize("text", ["yes", "Ja", "tak", "Taip, sutinku", "jā, piekrītu", "Tak, zgadzam się", "OK"])
def test_yes_in_every_language(text):
    assert typed(text).is_yes() and not typed(text).is_no()


@pytest.mark.parametrize("text", ["no", "Nej", "nie", "ne", "Nē", "nesutinku", "nepiekrītu", "I do not agree"])
def test_no_in_every_language(text):
    assert typed(text).is_no() and not typed(text).is_yes()


@pytest.mark.parametrize("text,expected", [
    ("work and housing", ["work", "housing"]),
    ("jobb och bostad", ["work", "housing"]),
    ("praca i mieszkanie", ["work", "housing"]),
    ("darbas ir būstas", ["work", "housing"]),
    ("darbs un mājoklis", ["work", "housing"]),
    ("taxes and a school for my kids", ["education", "admin"]),
    ("personnummer", ["admin"]),
    ("something else", ["other"]),
    ("I don't know", []),
])
def test_help_topics_typed_in_words(text, expected):
    assert topics_in(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("just me", "alone"), ("bara jag", "alone"), ("tylko ja", "alone"), ("tik aš", "alone"), ("tikai es", "alone"),
    ("with my wife", "partner"), ("med min sambo", "partner"), ("z mężem", "partner"), ("su žmona", "partner"), ("ar sievu", "partner"),
    ("with my wife and two kids", "children"), ("med barn", "children"), ("z dziećmi", "children"), ("su vaikais", "children"),
    ("ar bērniem", "children"), ("a banana", None),
])
def test_household_typed_in_words(text, expected):
    assert household_in(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("as soon as possible", "soon"), ("in 2 months", "soon"), ("za 2 miesiące", "soon"), ("snart", "soon"), ("greitai", "soon"),
    ("in 6 months", "half_year"), ("om 8 månader", "half_year"), ("za pół roku", "half_year"), ("po 5 mėnesių", "half_year"),
    ("pēc 10 mēnešiem", "half_year"), ("in 2 years", "later"), ("nie wiem", "later"), ("vēl nezinu", "later"), ("senare", "later"),
    ("tomorrow maybe?", None),
])
def test_move_when_typed_in_words(text, expected):
    assert move_when_in(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("English", "en"), ("svenska", "sv"), ("po polsku", "pl"), ("Polish", "pl"), ("lietuvių", "lt"), ("lietuviškai", "lt"),
    ("latviešu", "lv"), ("łotewski", "lv"), ("lv", "lv"), ("polish or english", None), ("Klingon", None),
])
def test_preferred_language_typed_in_words(text, expected):
    assert language_in(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("change my email", "email"), ("zmień e-mail", "email"), ("ändra telefonnummer", "phone"), ("pakeisti šalį", None),
    ("šalis", "country"), ("valoda", "language"), ("the message", "message"), ("yes", None),
])
def test_a_field_named_in_words_at_the_summary(text, expected):
    assert correction_field(typed(text)) == expected


def test_a_correct_button_names_its_field():
    assert correction_field(Turn(text='/correct{"field":"household"}', is_payload=True, intent="correct",
                                 entities={"field": "household"})) == "household"
    assert correction_field(Turn(text='/correct{"field":"consent"}', is_payload=True, intent="correct",
                                 entities={"field": "consent"})) is None


def test_email_and_phone_are_found_inside_a_sentence():
    assert next(filter(None, map(normalise_email, email_candidates("my email is anna@example.pl.")))) == "anna@example.pl"
    assert next(filter(None, map(normalise_phone, phone_candidates("call me on +48 601 234 567 please")))) == "+48601234567"
    assert not any(map(normalise_phone, phone_candidates("601 234 567")))


@pytest.mark.parametrize("text,ok", [
    ("Anna Kowalska", True), ("Jānis Bērziņš", True), ("Ona Kazlauskienė", True), ("O'Brien-Smith", True),
    ("What?", False), ("anna@example.pl", False), ("12345", False), ("<script>alert(1)</script>", False),
    ("I want to talk to a person about my job", False), ("x" * 101, False),
])
def test_what_counts_as_a_name(text, ok):
    assert plausible_name(text) is ok


# ---------------------------------------------------------------- buttons and summary

FILLED = {
    "lead_name": "Anna Kowalska", "lead_email": "anna@example.pl", "lead_phone": "", "lead_country": "Polska",
    "lead_profession": "nurse", "lead_topics": ["work", "housing"], "lead_household": "children",
    "lead_move_when": "soon", "lead_language": "pl", "lead_message": "",
}
STATES = [
    {}, {"lead_topics_picked": ["work"]}, {"lead_correcting": True}, {"lead_error": "lead_failed"},
    {"lead_error": "lead_yes_no"}, {"lead_error": "lead_invalid_text"}, {"lead_error": "lead_invalid_choice"},
]


@pytest.mark.parametrize("lang", settings.LANGUAGES)
def test_every_button_the_form_shows_is_accepted_by_the_chat_api(kb, lang):
    for state in STATES:
        slots = {name: None for name in ALL_LEAD_SLOTS} | FILLED | state
        for slot in FORM_SLOTS:
            if state.get("lead_error") and slot not in ("lead_consent", "lead_confirm", "lead_country", "lead_household"):
                continue
            message = question(kb, slot, lang, slots)
            assert message["lang"] == lang and message["text"].strip()
            for button in message["buttons"]:
                assert button["title"].strip()
                assert payloads.validate(button["payload"], kb.topics) == button["payload"], (slot, button)


@pytest.mark.parametrize("lang", settings.LANGUAGES)
def test_summary_lists_every_field_in_the_conversation_language(kb, lang):
    lines = dict(summary_lines(kb, lang, FILLED))
    assert len(lines) == len(FIELDS)
    assert lines[kb.phrase("lead_label_name", lang)] == "Anna Kowalska"
    assert lines[kb.phrase("lead_label_phone", lang)] == kb.phrase("lead_not_given", lang)
    assert lines[kb.phrase("lead_label_topics", lang)] == f"{kb.phrase('help_topic_work', lang)}, {kb.phrase('help_topic_housing', lang)}"
    assert lines[kb.phrase("lead_label_household", lang)] == kb.phrase("household_children", lang)
    assert lines[kb.phrase("lead_label_move_when", lang)] == kb.phrase("move_soon", lang)


def test_consent_question_shows_the_privacy_text_and_links_the_about_topic(kb):
    for lang in settings.LANGUAGES:
        message = question(kb, "lead_consent", lang, {name: None for name in ALL_LEAD_SLOTS} | FILLED)
        assert message["text"] == kb.phrase("ask_consent", lang)
        assert {"title": kb.title("service.about", lang), "payload": '/ask_topic{"topic":"service.about"}'} in message["buttons"]
        assert [b["payload"] for b in message["buttons"][:2]] == ["/affirm", "/deny"]


# ---------------------------------------------------------------- transcript

def test_transcript_keeps_this_session_and_shows_buttons_by_their_title():
    events = [
        {"event": "user", "text": "an older session", "timestamp": 1_700_000_000},
        {"event": "session_started", "timestamp": 1_700_000_100},
        {"event": "action", "name": "action_listen", "timestamp": 1_700_000_101},
        {"event": "user", "text": "I want to talk to someone", "timestamp": 1_700_000_102},
        {"event": "bot", "text": None, "timestamp": 1_700_000_103,
         "data": {"custom": {"text": "Who is moving with you?", "lang": "en",
                             "buttons": [{"title": "With children", "payload": '/inform{"household":"children"}'}]}}},
        {"event": "slot", "name": "lead_name", "value": "x", "timestamp": 1_700_000_104},
        {"event": "user", "text": '/inform{"household":"children"}', "timestamp": 1_700_000_105},
        {"event": "user", "text": "/greet", "timestamp": 1_700_000_106},
        {"event": "bot", "text": "plain text reply", "timestamp": 1_700_000_107, "data": {}},
    ]
    assert build_transcript(events) == [
        {"who": "user", "text": "I want to talk to someone", "at": "2023-11-14T22:15:02+00:00"},
        {"who": "bot", "text": "Who is moving with you?", "at": "2023-11-14T22:15:03+00:00"},
        {"who": "user", "text": "[With children]", "at": "2023-11-14T22:15:05+00:00"},
        {"who": "user", "text": "[greet]", "at": "2023-11-14T22:15:06+00:00"},
        {"who": "bot", "text": "plain text reply", "at": "2023-11-14T22:15:07+00:00"},
    ]
