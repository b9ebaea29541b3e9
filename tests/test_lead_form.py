"""The contact request in the chat, end to end: the real Rasa server, action server, web app and
app database, through the public chat API exactly as the widget uses it.

A mover asks for a person, answers the form (typing or pressing buttons), corrects a detail,
cancels, gives or refuses consent; the lead is read back from the stack's database with
web.leads, and the conversation's slots from Rasa's tracker store.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from actions.lead_form import ALL_LEAD_SLOTS
from web.leads import db
from web.leads.models import Lead
from web.leads.service import consent_version

pytestmark = pytest.mark.stack

REFERENCE = re.compile(r"\bML-[0-9A-HJKMNP-TV-Z]{4}\b")
ABOUT = '/ask_topic{"topic":"service.about"}'


@pytest.fixture(scope="module")
def app_db(stack) -> str:
    """The URL of the database the running stack stores leads in."""
    return stack.extra_env["MOVE_DATABASE_URL"]


def leads_of(url: str, session: str) -> list[Lead]:
    with db.session_scope(url) as s:
        return list(s.scalars(select(Lead).where(Lead.session_id == session)
                              .options(selectinload(Lead.topics), selectinload(Lead.consents))))


def slots_of(stack, session: str) -> dict:
    """The conversation's slot values now, replayed from Rasa's tracker store."""
    with sqlite3.connect(stack.extra_env["MOVE_TRACKER_DB"]) as conn:
        rows = conn.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'slot' ORDER BY id", (session,)).fetchall()
    values: dict = {}
    for (data,) in rows:
        event = json.loads(data)
        values[event["name"]] = event["value"]
    return values


class Conversation:
    """One mover's chat: typed text, or a button's payload when it starts with "/"."""

    def __init__(self, chat, lang: str):
        self.chat, self.lang, self.session = chat, lang, None

    def send(self, said: str) -> list[dict]:
        button = said.startswith("/")
        reply = self.chat.say("" if button else said, session=self.session, lang=self.lang, payload=said if button else None)
        self.session = reply["session"]
        return reply["messages"]

    def last(self, said: str) -> dict:
        return self.send(said)[-1]


def payloads_of(message: dict) -> list[str]:
    return [b["payload"] for b in message.get("buttons", [])]


def assert_no_personal_slots(stack, session: str) -> None:
    slots = slots_of(stack, session)
    assert {name: slots.get(name) for name in ALL_LEAD_SLOTS} == dict.fromkeys(ALL_LEAD_SLOTS)


def fill_to_consent(conv: Conversation, kb, name: str, email: str, country: str, profession: str) -> dict:
    """Start the form with the button and answer every question with buttons where it has them."""
    lang = conv.lang
    assert conv.last("/talk_to_person")["text"] == kb.phrase("ask_name", lang)
    for said in (name, email, "/skip", country, profession, '/inform{"help_topic":"work"}', "/done",
                 '/inform{"household":"alone"}', '/inform{"move_when":"later"}', f'/inform{{"preferred_language":"{lang}"}}', "/skip"):
        conv.send(said)
    consent = conv.last("/affirm")  # "Everything is correct" under the summary
    assert consent["text"] == kb.phrase("ask_consent", lang)
    return consent


# ---------------------------------------------------------------- the whole handoff

def test_whole_handoff_in_polish_with_typed_answers_and_a_correction(chat, kb, stack, app_db):
    started = datetime.now(UTC)
    conv = Conversation(chat, "pl")
    first = conv.send("Chcę porozmawiać z człowiekiem")
    assert [m["text"] for m in first] == [kb.phrase("handoff_intro", "pl"), kb.phrase("ask_name", "pl")]
    assert all(m["lang"] == "pl" for m in first)

    steps = [
        ("Agnieszka Wiśniewska", "ask_email"),
        ("agnieszka(at)example.pl", "invalid_email"),
        ("agnieszka@example.pl", "ask_phone"),
        ("+48 601 234 567", "ask_country"),
        ("Polska", "ask_profession"),
        ("pielęgniarka", "ask_topics"),
        ("praca i mieszkanie", "ask_household"),
        ("z mężem i dziećmi", "ask_move_when"),
        ("za pół roku", "ask_language"),
        ("po polsku", "ask_message"),
    ]
    for said, expected in steps:
        assert conv.last(said)["text"] == kb.phrase(expected, "pl"), said

    summary = conv.last("Szukam pracy w szpitalu.")
    assert summary["text"].startswith(kb.phrase("confirm_summary", "pl"))
    assert f"- {kb.phrase('lead_label_email', 'pl')}: agnieszka@example.pl" in summary["text"]
    assert f"- {kb.phrase('lead_label_household', 'pl')}: {kb.phrase('household_children', 'pl')}" in summary["text"]
    assert payloads_of(summary) == ["/affirm", "/correct", "/cancel"]

    # correction: name the field in words, answer again, and the summary comes back
    assert conv.last("zmień e-mail")["text"] == kb.phrase("ask_email", "pl")
    summary = conv.last("a.wisniewska@example.pl")
    assert f"- {kb.phrase('lead_label_email', 'pl')}: a.wisniewska@example.pl" in summary["text"]
    assert "agnieszka@example.pl" not in summary["text"]

    consent = conv.last("tak")
    assert consent["text"] == kb.phrase("ask_consent", "pl")
    sent = conv.send("Tak, zgadzam się")
    assert len(sent) == 1
    reference = REFERENCE.search(sent[0]["text"]).group(0)
    assert sent[0]["text"] == kb.phrase("lead_sent", "pl", name="Agnieszka Wiśniewska", reference=reference)

    [lead] = leads_of(app_db, conv.session)
    assert (lead.reference, lead.name, lead.email, lead.phone, lead.country, lead.profession) == (
        reference, "Agnieszka Wiśniewska", "a.wisniewska@example.pl", "+48601234567", "PL", "pielęgniarka")
    assert (lead.topic_ids, lead.household, lead.move_when, lead.preferred_language, lead.chat_language, lead.source) == (
        ["work", "housing"], "children", "half_year", "pl", "pl", "chat")
    assert lead.message == "Szukam pracy w szpitalu."
    # the consent record: the exact text shown, its version, language and time
    consent_text = kb.phrase("ask_consent", "pl")
    assert (lead.consent.text, lead.consent.version, lead.consent.lang) == (consent_text, consent_version(consent_text), "pl")
    assert started <= lead.consent.given_at.astimezone(UTC) <= datetime.now(UTC)
    # the snapshot of the conversation, with email addresses masked
    said_by_user = [item["text"] for item in lead.transcript if item["who"] == "user"]
    assert said_by_user[0] == "Chcę porozmawiać z człowiekiem"
    assert "pielęgniarka" in said_by_user and "zmień e-mail" in said_by_user
    assert {"who": "bot", "text": kb.phrase("ask_name", "pl")} in [{k: i[k] for k in ("who", "text")} for i in lead.transcript]
    assert not any("@example.pl" in item["text"] for item in lead.transcript)
    # nothing personal stays in the conversation's slots, and the chat goes on as before
    assert_no_personal_slots(stack, conv.session)
    assert conv.send("Jak wynająć mieszkanie w Luleå?")[0]["topic"] == "housing.rent"


def test_whole_handoff_in_latvian_with_buttons_after_a_cancel(chat, kb, stack, app_db):
    conv = Conversation(chat, "lv")
    conv.send("/talk_to_person")
    conv.send("Jānis Bērziņš")
    assert conv.last("janis@example.lv")["text"] == kb.phrase("ask_phone", "lv")
    cancelled = conv.send("Atcelt")
    assert [m["text"] for m in cancelled] == [kb.phrase("lead_cancelled", "lv")]
    assert leads_of(app_db, conv.session) == []
    assert_no_personal_slots(stack, conv.session)

    # asking again starts from the beginning
    intro = conv.send("/talk_to_person")
    assert [m["text"] for m in intro] == [kb.phrase("handoff_intro", "lv"), kb.phrase("ask_name", "lv")]
    conv.send("Jānis Bērziņš")
    conv.send("janis@example.lv")
    assert conv.last("/skip")["text"] == kb.phrase("ask_country", "lv")
    conv.send("Latvija")
    topics = conv.last("programmētājs")
    assert payloads_of(topics)[:6] == [f'/inform{{"help_topic":"{t}"}}' for t in ("work", "education", "housing", "admin", "life", "other")]
    picked = conv.last('/inform{"help_topic":"education"}')
    assert picked["text"] == kb.phrase("lead_topics_chosen", "lv", topics=kb.phrase("help_topic_education", "lv"))
    assert '/inform{"help_topic":"education"}' not in payloads_of(picked) and "/done" in payloads_of(picked)
    conv.send('/inform{"help_topic":"admin"}')
    assert conv.last("/done")["text"] == kb.phrase("ask_household", "lv")
    conv.send('/inform{"household":"alone"}')
    language = conv.last('/inform{"move_when":"soon"}')
    assert language["text"] == kb.phrase("ask_language", "lv")
    assert payloads_of(language)[0] == '/inform{"preferred_language":"lv"}'  # the conversation's language first
    conv.send('/inform{"preferred_language":"lv"}')
    summary = conv.last("Vai Luleo ir IT kursi?")
    assert f"- {kb.phrase('lead_label_phone', 'lv')}: {kb.phrase('lead_not_given', 'lv')}" in summary["text"]

    # correction with buttons: "Change a detail", then the field
    which = conv.last("/correct")
    assert which["text"] == kb.phrase("correct_which", "lv")
    assert '/correct{"field":"household"}' in payloads_of(which)
    assert conv.last('/correct{"field":"household"}')["text"] == kb.phrase("ask_household", "lv")
    summary = conv.last('/inform{"household":"partner"}')
    assert f"- {kb.phrase('lead_label_household', 'lv')}: {kb.phrase('household_partner', 'lv')}" in summary["text"]
    assert conv.last("/affirm")["text"] == kb.phrase("ask_consent", "lv")
    sent = conv.last("/affirm")
    reference = REFERENCE.search(sent["text"]).group(0)
    assert sent["text"] == kb.phrase("lead_sent", "lv", name="Jānis Bērziņš", reference=reference)

    [lead] = leads_of(app_db, conv.session)  # the cancelled attempt stored nothing
    assert (lead.reference, lead.phone, lead.country, lead.topic_ids, lead.household, lead.move_when) == (
        reference, None, "LV", ["education", "admin"], "partner", "soon")
    assert (lead.chat_language, lead.preferred_language, lead.consent.lang) == ("lv", "lv", "lv")
    assert lead.consent.text == kb.phrase("ask_consent", "lv")
    assert_no_personal_slots(stack, conv.session)


# ---------------------------------------------------------------- cancel

CANCEL_WORDS = {"en": "cancel", "sv": "avbryt", "pl": "anuluj", "lt": "atšaukti", "lv": "atcelt"}
RENT = {"en": "How do I rent an apartment in Luleå?", "sv": "Hur hyr jag en lägenhet i Luleå?", "pl": "Jak wynająć mieszkanie w Luleå?",
        "lt": "Kaip išsinuomoti butą Luleå mieste?", "lv": "Kā īrēt dzīvokli Luleo?"}


@pytest.mark.parametrize("lang", list(CANCEL_WORDS))
def test_the_cancel_word_of_the_intro_cancels_in_every_language(chat, kb, stack, app_db, lang):
    conv = Conversation(chat, lang)
    assert CANCEL_WORDS[lang] in kb.phrase("handoff_intro", lang)  # the word the mover was told to write
    conv.send("/talk_to_person")
    conv.send("Maria Svensson")
    cancelled = conv.send(CANCEL_WORDS[lang])
    assert [(m["text"], m["lang"]) for m in cancelled] == [(kb.phrase("lead_cancelled", lang), lang)]
    assert leads_of(app_db, conv.session) == []
    assert_no_personal_slots(stack, conv.session)
    # the form is closed: the next message is a question again, not an email address
    assert conv.send(RENT[lang])[0]["topic"] == "housing.rent"


def test_cancel_button_at_the_consent_question_stores_nothing(chat, kb, stack, app_db):
    conv = Conversation(chat, "en")
    fill_to_consent(conv, kb, "Erik Nilsson", "erik@example.se", "Norway", "teacher")
    assert conv.last("/cancel")["text"] == kb.phrase("lead_cancelled", "en")
    assert leads_of(app_db, conv.session) == []
    assert_no_personal_slots(stack, conv.session)


# ---------------------------------------------------------------- validation

VALID = {
    "en": ("John Smith", "john@example.com", "+44 7911 123456", "United Kingdom", "electrician", "skip", "banana"),
    "sv": ("Sara Lind", "sara@example.se", "+46 70 123 45 67", "Finland", "sjuksköterska", "hoppa över", "banan"),
    "pl": ("Piotr Nowak", "piotr@example.pl", "+48 601 234 567", "Polska", "spawacz", "pomiń", "banan"),
    "lt": ("Ona Kazlauskienė", "ona@example.lt", "+370 612 34567", "Lietuva", "gydytoja", "praleisti", "bananas"),
    "lv": ("Anna Bērziņa", "anna@example.lv", "+371 2123 4567", "Latvija", "inženiere", "izlaist", "banāns"),
}


@pytest.mark.parametrize("lang", list(VALID))
def test_invalid_answers_get_a_clear_re_ask_in_the_users_language(chat, kb, app_db, lang):
    name, email, phone, country, profession, skip_word, nonsense = VALID[lang]
    conv = Conversation(chat, lang)
    conv.send("/talk_to_person")

    def check(said: str, key: str, **values) -> dict:
        message = conv.last(said)
        assert (message["text"], message["lang"]) == (kb.phrase(key, lang, **values), lang), said
        return message

    check("What?", "lead_question_in_form")
    check("<b>Anna</b>", "lead_invalid_name")
    check(skip_word, "lead_field_required")          # the name is required
    check(name, "ask_email")
    check("john.example.com", "invalid_email")
    check("<script>alert(1)</script>@x", "invalid_email")
    check(email, "ask_phone")
    phone_reask = check("0601 234 567", "invalid_phone")  # no country code
    assert payloads_of(phone_reask) == ["/skip", "/cancel"]
    check("+48 12", "invalid_phone")
    check(phone, "ask_country")
    check("x" * 150, "lead_invalid_text", max_chars=100)
    check(RENT[lang], "lead_question_in_form")        # a question while the form waits for an answer
    check("' OR '1'='1", "ask_profession")            # a country may be any short text; stored as text
    check(profession, "ask_topics")
    topics_reask = check(nonsense, "lead_topics_invalid")
    assert len(payloads_of(topics_reask)) == 7          # six topics and Cancel
    check("/done", "lead_topics_invalid")              # nothing chosen yet
    check('/inform{"help_topic":"work"}', "lead_topics_chosen", topics=kb.phrase("help_topic_work", lang))
    check("/done", "ask_household")
    check(nonsense, "lead_invalid_choice")
    check('/inform{"move_when":"soon"}', "lead_invalid_choice")  # a button of another question
    check('/inform{"household":"alone"}', "ask_move_when")
    check(nonsense, "lead_invalid_choice")
    check("/cancel", "lead_cancelled")
    assert leads_of(app_db, conv.session) == []


def test_a_stray_button_repeats_the_question_and_a_language_switch_asks_it_again(chat, kb, stack):
    conv = Conversation(chat, "lt")
    conv.send("/talk_to_person")
    conv.send("Jonas Jonaitis")
    assert conv.last("/talk_to_person")["text"] == kb.phrase("ask_email", "lt")
    assert conv.last("/more_details")["text"] == kb.phrase("ask_email", "lt")
    switched = conv.send('/set_language{"lang":"lv"}')
    assert [(m["text"], m["lang"]) for m in switched] == [
        (kb.phrase("language_switched", "lv", language_name=kb.phrase("language_name", "lv")), "lv"),
        (kb.phrase("ask_email", "lv"), "lv"),
    ]
    assert conv.last("jonas@example.lt")["text"] == kb.phrase("ask_phone", "lv")
    assert conv.last("atšaukti")["text"] == kb.phrase("lead_cancelled", "lv")
    assert_no_personal_slots(stack, conv.session)


# ---------------------------------------------------------------- consent

def test_consent_is_required_and_the_privacy_text_is_shown(chat, kb, stack, app_db):
    conv = Conversation(chat, "en")
    consent = fill_to_consent(conv, kb, "Erik Nilsson", "erik@example.se", "Norway", "teacher")
    assert payloads_of(consent) == ["/affirm", "/deny", ABOUT]
    assert {"title": kb.title("service.about", "en"), "payload": ABOUT} in consent["buttons"]

    # the About button answers the privacy topic, then asks for consent again
    about, again = conv.send(ABOUT)
    assert about["topic"] == "service.about"
    assert about["text"] == kb.topics["service.about"].entry("en").answer
    assert again["text"] == kb.phrase("ask_consent", "en")

    unclear = conv.last("maybe later")
    assert unclear["text"] == kb.phrase("lead_yes_no", "en") + "\n\n" + kb.phrase("ask_consent", "en")
    assert leads_of(app_db, conv.session) == []

    refused = conv.send("/deny")
    assert [m["text"] for m in refused] == [kb.phrase("consent_required", "en")]
    assert leads_of(app_db, conv.session) == []
    assert_no_personal_slots(stack, conv.session)
    # "Yes, I agree" pressed afterwards in the old message neither stores nor restarts anything
    assert conv.last("/affirm")["text"] == kb.phrase("ask_rephrase", "en")
    assert leads_of(app_db, conv.session) == []


def test_typed_no_to_consent_stores_nothing(chat, kb, stack, app_db):
    conv = Conversation(chat, "sv")
    fill_to_consent(conv, kb, "Sara Lind", "sara@example.se", "Finland", "lärare")
    assert conv.last("Nej")["text"] == kb.phrase("consent_required", "sv")
    assert leads_of(app_db, conv.session) == []
    assert_no_personal_slots(stack, conv.session)


# ---------------------------------------------------------------- storing fails

def test_when_storing_fails_the_bot_says_so_keeps_the_answers_and_can_try_again(chat, kb, stack, app_db):
    conv = Conversation(chat, "sv")
    fill_to_consent(conv, kb, "Sara Lind", "sara@example.se", "Finland", "lärare")
    engine = db.get_engine(app_db)
    with engine.begin() as conn:  # the database refuses new leads
        conn.execute(text("CREATE TRIGGER refuse_leads BEFORE INSERT ON leads BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    try:
        failed = conv.send("/affirm")
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_leads"))
    assert [m["text"] for m in failed] == [kb.phrase("lead_failed", "sv")]
    assert not any(REFERENCE.search(m["text"]) for m in failed)
    assert payloads_of(failed[0]) == ["/affirm", "/cancel"]
    assert leads_of(app_db, conv.session) == []
    assert slots_of(stack, conv.session)["lead_email"] == "sara@example.se"  # nothing was lost

    sent = conv.last("/affirm")  # "Try again"
    reference = REFERENCE.search(sent["text"]).group(0)
    assert sent["text"] == kb.phrase("lead_sent", "sv", name="Sara Lind", reference=reference)
    [lead] = leads_of(app_db, conv.session)
    assert (lead.reference, lead.email, lead.chat_language) == (reference, "sara@example.se", "sv")
    assert_no_personal_slots(stack, conv.session)
