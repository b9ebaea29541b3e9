"""The contact request in the chat ("talk to a person"): a Rasa form in five languages.

    action_start_lead      the mover asks for a person: intro, fresh slots, then the form
    action_ask_lead_<x>    each question, with its buttons, in the conversation's language
    validate_lead_form     reads every answer (typed or pressed); cancel, skip and correct
                           work at any step; stores the lead when consent is given
    action_lead_finish     after the form: the reference code and what happens next, or
                           "cancelled" / "consent required"; clears every personal slot

Slots are filled `from_text` only while the form asks for them, so Rasa calls the action server
only for the form's own turns. The lead is stored (one committed transaction, with the consent
record and a copy of the conversation) before the bot says it was sent; if storing fails the
form stays open with everything kept, and the mover can try again or cancel.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

import settings
from actions import replies
from actions.answer import ActionAnswer, conversation_language
from actions.lead_input import (
    FIELDS,
    FORM_SLOTS,
    MAX_LINE_CHARS,
    MAX_PROFESSION_CHARS,
    Turn,
    correction_field,
    email_candidates,
    household_in,
    language_in,
    move_when_in,
    payload,
    phone_candidates,
    plain_line,
    plausible_name,
    topics_in,
)
from actions.runtime import runtime
from actions.transcript import build_transcript
from knowledge import safety
from knowledge.loader import KnowledgeBase
from knowledge.understand import understand
from web.leads import db
from web.leads.models import Lead
from web.leads.service import HELP_TOPICS, HOUSEHOLDS, MOVE_WHEN, Consent, LeadInput, consent_version, create_lead
from web.leads.validation import normalise_email, normalise_phone

log = logging.getLogger(__name__)

FORM = "lead_form"
ABOUT_TOPIC = "service.about"
# Slots the form uses besides the questions: what was picked so far, whether the mover is
# choosing a field to change, the re-ask text, the consent wording shown, and the outcome.
HELPER_SLOTS = ("lead_topics_picked", "lead_correcting", "lead_error", "lead_consent_version", "lead_outcome", "lead_reference")
ALL_LEAD_SLOTS = (*FORM_SLOTS, *HELPER_SLOTS)
# A "talk to a person" message longer than this is a question about contact, answered as usual.
MAX_REQUEST_WORDS = 12


def _lang(tracker: Tracker) -> str:
    lang = tracker.get_slot("lang")
    return lang if lang in settings.LANGUAGES else settings.DEFAULT_LANGUAGE


def _send(dispatcher: CollectingDispatcher, message: dict) -> None:
    dispatcher.utter_message(json_message=message)


def _button(title: str, pay: str) -> dict:
    return {"title": title, "payload": pay}


def language_title(kb: KnowledgeBase, code: str) -> str:
    """A language's name in that language ("Polski"), as a mover looks for it."""
    name = kb.phrase("language_name", code)
    return name[:1].upper() + name[1:]


def cleared_slots(tracker: Tracker) -> list[EventType]:
    """Empty every slot of the form that holds something."""
    return [SlotSet(slot, None) for slot in ALL_LEAD_SLOTS if tracker.get_slot(slot) is not None]


# ---------------------------------------------------------------- starting

class ActionStartLead(Action):
    """Starts the form for a short request or a button; a long message is a question, answered."""

    def name(self) -> str:
        return "action_start_lead"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        text = (tracker.latest_message.get("text") or "").strip()
        is_payload = text.startswith("/")
        if not is_payload and len(text.split()) > MAX_REQUEST_WORDS:
            return await ActionAnswer().run(dispatcher, tracker, domain)
        lang = conversation_language(tracker, text, is_payload)
        _send(dispatcher, replies.text(runtime().kb, "handoff_intro", lang))
        return [SlotSet("lang", lang), *cleared_slots(tracker), FollowupAction(FORM)]


# ---------------------------------------------------------------- questions

def summary_lines(kb: KnowledgeBase, lang: str, slots: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) for every field, values in the conversation's language."""
    not_given = kb.phrase("lead_not_given", lang)
    topics = slots.get("lead_topics") or []
    values = {
        "name": slots.get("lead_name"),
        "email": slots.get("lead_email"),
        "phone": slots.get("lead_phone") or not_given,
        "country": slots.get("lead_country"),
        "profession": slots.get("lead_profession"),
        "topics": ", ".join(kb.phrase(f"help_topic_{t}", lang) for t in topics if t in HELP_TOPICS),
        "household": kb.phrase(f"household_{slots['lead_household']}", lang) if slots.get("lead_household") in HOUSEHOLDS else "",
        "move_when": kb.phrase(f"move_{slots['lead_move_when']}", lang) if slots.get("lead_move_when") in MOVE_WHEN else "",
        "language": language_title(kb, slots["lead_language"]) if slots.get("lead_language") in settings.LANGUAGES else "",
        "message": slots.get("lead_message") or not_given,
    }
    return [(kb.phrase(f"lead_label_{field}", lang), str(values[field] or "")) for field in FIELDS]


def question(kb: KnowledgeBase, slot: str, lang: str, slots: dict[str, Any]) -> dict:
    """The message that asks for `slot` (or re-asks it after an invalid answer)."""
    cancel = _button(kb.phrase("cancel", lang), payload("cancel"))
    skip = _button(kb.phrase("skip", lang), payload("skip"))
    error = slots.get("lead_error")
    extra: dict[str, Any] = {}

    if slot == "lead_topics":
        picked = [t for t in slots.get("lead_topics_picked") or [] if t in HELP_TOPICS]
        key = "lead_topics_chosen" if picked and not error else "ask_topics"
        values = {"topics": ", ".join(kb.phrase(f"help_topic_{t}", lang) for t in picked)} if key == "lead_topics_chosen" else {}
        buttons = [_button(kb.phrase(f"help_topic_{t}", lang), payload("inform", help_topic=t)) for t in HELP_TOPICS if t not in picked]
        if picked:
            buttons.append(_button(kb.phrase("help_done", lang), payload("done")))
        text = kb.phrase(error, lang) if error else kb.phrase(key, lang, **values)
        return {"text": text, "lang": lang, "buttons": buttons + [cancel]}

    if slot == "lead_confirm":
        if slots.get("lead_correcting"):
            key = "correct_which"
            buttons = [_button(label, payload("correct", field=field))
                       for field, (label, _) in zip(FIELDS, summary_lines(kb, lang, slots), strict=True)]
            return {"text": kb.phrase(error or key, lang), "lang": lang, "buttons": buttons + [cancel]}
        lines = "\n".join(f"- {label}: {value}" for label, value in summary_lines(kb, lang, slots))
        text = kb.phrase(error, lang) if error else f"{kb.phrase('confirm_summary', lang)}\n\n{lines}"
        buttons = [_button(kb.phrase("lead_confirm_ok", lang), payload("affirm")),
                   _button(kb.phrase("lead_change", lang), payload("correct")), cancel]
        return {"text": text, "lang": lang, "buttons": buttons}

    if slot == "lead_consent":
        if error == "lead_failed":
            buttons = [_button(kb.phrase("widget_retry", lang), payload("affirm")), cancel]
            return {"text": kb.phrase("lead_failed", lang), "lang": lang, "buttons": buttons}
        about = kb.title(ABOUT_TOPIC, lang) if ABOUT_TOPIC in kb.topics else None
        buttons = [_button(kb.phrase("consent_yes", lang), payload("affirm")),
                   _button(kb.phrase("consent_no", lang), payload("deny"))]
        if about:
            buttons.append(_button(about, replies.topic_payload(ABOUT_TOPIC)))
            extra = {"topic": None, "candidates": [ABOUT_TOPIC]}
        text = kb.phrase("ask_consent", lang)
        if error:
            text = f"{kb.phrase(error, lang)}\n\n{text}"
        return {"text": text, "lang": lang, "buttons": buttons, **extra}

    asks: dict[str, tuple[str, list[dict]]] = {
        "lead_name": ("ask_name", [cancel]),
        "lead_email": ("ask_email", [cancel]),
        "lead_phone": ("ask_phone", [skip, cancel]),
        "lead_country": ("ask_country", [cancel]),
        "lead_profession": ("ask_profession", [cancel]),
        "lead_household": ("ask_household", [_button(kb.phrase(f"household_{h}", lang), payload("inform", household=h)) for h in HOUSEHOLDS] + [cancel]),
        "lead_move_when": ("ask_move_when", [_button(kb.phrase(f"move_{m}", lang), payload("inform", move_when=m)) for m in MOVE_WHEN] + [cancel]),
        "lead_language": ("ask_language", [_button(language_title(kb, code), payload("inform", preferred_language=code))
                                           for code in sorted(settings.LANGUAGES, key=lambda c: c != lang)] + [cancel]),
        "lead_message": ("ask_message", [skip, cancel]),
    }
    key, buttons = asks[slot]
    limit = MAX_LINE_CHARS if slot == "lead_country" else MAX_PROFESSION_CHARS
    text = kb.phrase(error, lang, max_chars=limit) if error == "lead_invalid_text" else kb.phrase(error or key, lang)
    return {"text": text, "lang": lang, "buttons": buttons}


class AskLeadSlot(Action, ABC):
    """Asks for one slot of the form (Rasa runs action_ask_<slot> when it needs that slot)."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        kb = runtime().kb
        lang = _lang(tracker)
        slots = {name: tracker.get_slot(name) for name in ALL_LEAD_SLOTS}
        _send(dispatcher, {**question(kb, self.slot, lang, slots), "decision": "form"})
        events: list[EventType] = [SlotSet("lead_error", None)] if slots.get("lead_error") else []
        if self.slot == "lead_consent":  # the wording the mover is shown is the wording they agree to
            events.append(SlotSet("lead_consent_version", consent_version(kb.phrase("ask_consent", lang))))
        return events


class ActionAskLeadName(AskLeadSlot):
    slot = "lead_name"


class ActionAskLeadEmail(AskLeadSlot):
    slot = "lead_email"


class ActionAskLeadPhone(AskLeadSlot):
    slot = "lead_phone"


class ActionAskLeadCountry(AskLeadSlot):
    slot = "lead_country"


class ActionAskLeadProfession(AskLeadSlot):
    slot = "lead_profession"


class ActionAskLeadTopics(AskLeadSlot):
    slot = "lead_topics"


class ActionAskLeadHousehold(AskLeadSlot):
    slot = "lead_household"


class ActionAskLeadMoveWhen(AskLeadSlot):
    slot = "lead_move_when"


class ActionAskLeadLanguage(AskLeadSlot):
    slot = "lead_language"


class ActionAskLeadMessage(AskLeadSlot):
    slot = "lead_message"


class ActionAskLeadConfirm(AskLeadSlot):
    slot = "lead_confirm"


class ActionAskLeadConsent(AskLeadSlot):
    slot = "lead_consent"


# ---------------------------------------------------------------- answers

def _first_valid(candidates: list[str], normalise) -> str | None:
    return next((value for value in map(normalise, candidates) if value), None)


def _invalid(slot: str, error: str) -> dict[str, Any]:
    return {slot: None, "lead_error": error}


class ValidateLeadForm(FormValidationAction):
    """Reads each answer in the mover's language; every step accepts cancel (and stray buttons)."""

    def name(self) -> str:
        return "validate_lead_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        slot = tracker.get_slot("requested_slot")
        turn = Turn.from_message(tracker.latest_message)
        if slot not in FORM_SLOTS:
            return []  # activation: action_start_lead emptied the slots, nothing to validate
        common = self.any_step(slot, turn, dispatcher, tracker)
        if common is not None:
            return [SlotSet(name, value) for name, value in common.items()]
        return await super().run(dispatcher, tracker, domain)

    def any_step(self, slot: str, turn: Turn, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
        """Cancel, a language switch, a topic button from an earlier answer, or another stray button."""
        if turn.is_cancel():
            return {slot: None, "lead_outcome": "cancelled", "requested_slot": None}
        kb = runtime().kb
        if not turn.is_payload and turn.text.strip():
            meant = self.read_free_text(slot, turn, tracker)
            if meant in (safety.EMERGENCY, safety.CRISIS):
                for message in replies.emergency(kb, meant, _lang(tracker)):
                    _send(dispatcher, message)
                return {slot: None}
            if meant == "cancel":
                return {slot: None, "lead_outcome": "cancelled", "requested_slot": None}
            if meant == "leave":
                return {slot: None, "lead_outcome": "left", "requested_slot": None}
        if turn.pressed("set_language") and turn.entities.get("lang") in settings.LANGUAGES:
            lang = turn.entities["lang"]
            _send(dispatcher, replies.text(kb, "language_switched", lang, language_name=kb.phrase("language_name", lang)))
            return {slot: None, "lang": lang, "lang_locked": True}  # as action_answer does
        if turn.pressed("ask_topic") and turn.entities.get("topic") in kb.topics:
            # e.g. "About Move to Luleå and privacy" at the consent question: answer, then ask again
            answer = replies.answer(kb, turn.entities["topic"], _lang(tracker), [turn.entities["topic"]])[0]
            answer.pop("buttons", None)
            _send(dispatcher, answer)
            return {slot: None}
        expected = {
            "lead_phone": ("skip",), "lead_message": ("skip",), "lead_topics": ("inform", "done"),
            "lead_household": ("inform",), "lead_move_when": ("inform",), "lead_language": ("inform",),
            "lead_confirm": ("affirm", "correct", "deny"), "lead_consent": ("affirm", "deny"),
        }.get(slot, ())
        if turn.is_payload and turn.intent not in expected and not (turn.intent == "skip" and slot in FIELDS.values()):
            return {slot: None}  # a button from an earlier message: ask the current question again
        return None

    def read_free_text(self, slot: str, turn: Turn, tracker: Tracker) -> str | None:
        """safety.EMERGENCY / safety.CRISIS, "cancel" (in the mover's own words: "actually no, cancel that"), "leave" (a real
        question or "that's not what I asked" instead of an answer), or None: an answer to the step.
        A name, an email address or a phone number is always an answer."""
        text = turn.text.strip()
        if slot == "lead_email" and email_candidates(text) and any(map(normalise_email, email_candidates(text))):
            return None
        if slot == "lead_phone" and any(map(normalise_phone, phone_candidates(text))):
            return None
        if turn.is_skip() or (slot in ("lead_confirm", "lead_consent") and (turn.is_yes() or turn.is_no())):
            return None  # the step's own words ("skip", "yes", "no") are read by the step
        readers = {"lead_household": household_in, "lead_move_when": move_when_in, "lead_language": language_in, "lead_topics": topics_in}
        if slot in readers and readers[slot](text):
            return None  # "z mężem i dziećmi" answers the household question
        reading = understand(runtime().retriever, runtime().decision, text, _lang(tracker))
        if reading.danger:
            return reading.danger
        looks_like_name = reading.words <= 4 and all(word[:1].isupper() for word in text.split())
        if looks_like_name and slot in ("lead_name", "lead_country", "lead_profession"):
            return None  # "Katarzyna Nowak" is a name, whatever it resembles
        nearest, cosine = max(reading.ranking.acts_dense.items(), key=lambda kv: kv[1], default=(None, 0.0))
        wants_out = reading.act == "cancel" or (reading.act == "deny" and (reading.words >= 2 or turn.is_no())) or (nearest == "cancel" and cosine >= 0.96)
        if wants_out and slot not in ("lead_message", "lead_confirm", "lead_consent"):
            return "cancel"
        if slot != "lead_name":
            return None  # later steps: a question is re-asked with "we are in the middle of your request"
        # The first question: the mover may never have meant to start the form. A real question or
        # "that's not what I asked" leaves it (nothing is stored) and is answered.
        if reading.act == "repair":
            return "leave"
        asks_question = text.endswith("?") or reading.words >= 4
        if asks_question and reading.act in (None, "followup") and reading.decision.kind in ("answer", "clarify", "out_of_scope"):
            return "leave"
        return None

    # Each validate_<slot> gets the raw text (from_text); the Turn says what it means.

    def _turn(self, tracker: Tracker) -> Turn:
        return Turn.from_message(tracker.latest_message)

    def _required_text(self, slot: str, tracker: Tracker, ok, error: str) -> dict[str, Any]:
        turn = self._turn(tracker)
        if turn.is_skip() or turn.is_payload:
            return _invalid(slot, "lead_field_required")
        text = " ".join(turn.text.split())
        if text.endswith("?"):  # a question, not an answer: the mover may have forgotten the form
            return _invalid(slot, "lead_question_in_form")
        return {slot: text} if ok(text) else _invalid(slot, error)

    def validate_lead_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        return self._required_text("lead_name", tracker, plausible_name, "lead_invalid_name")

    def validate_lead_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        turn = self._turn(tracker)
        if turn.is_skip() or turn.is_payload:
            return _invalid("lead_email", "lead_field_required")
        email = _first_valid(email_candidates(turn.text), normalise_email)
        return {"lead_email": email} if email else _invalid("lead_email", "invalid_email")

    def validate_lead_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        turn = self._turn(tracker)
        if turn.is_skip():
            return {"lead_phone": ""}  # skipped: filled, but empty
        phone = None if turn.is_payload else _first_valid(phone_candidates(turn.text), normalise_phone)
        return {"lead_phone": phone} if phone else _invalid("lead_phone", "invalid_phone")

    def validate_lead_country(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        return self._required_text("lead_country", tracker, lambda t: plain_line(t, MAX_LINE_CHARS), "lead_invalid_text")

    def validate_lead_profession(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        return self._required_text("lead_profession", tracker, lambda t: plain_line(t, MAX_PROFESSION_CHARS), "lead_invalid_text")

    def validate_lead_topics(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        turn = self._turn(tracker)
        picked = [t for t in tracker.get_slot("lead_topics_picked") or [] if t in HELP_TOPICS]
        chosen = turn.choice("help_topic")
        if chosen:  # one more button: ask again, showing what is chosen so far
            return {"lead_topics": None, "lead_topics_picked": picked + [chosen] if chosen not in picked else picked}
        if turn.is_done() and picked:
            return {"lead_topics": picked, "lead_topics_picked": None}
        found = [] if turn.is_payload else topics_in(turn.text)
        if found:  # typed ("work and housing"): that is the whole answer
            return {"lead_topics": [t for t in HELP_TOPICS if t in picked or t in found], "lead_topics_picked": None}
        return _invalid("lead_topics", "lead_topics_invalid")

    def _choice(self, slot: str, entity: str, tracker: Tracker, read) -> dict[str, Any]:
        turn = self._turn(tracker)
        value = turn.choice(entity) if turn.is_payload else read(turn.text)
        return {slot: value} if value else _invalid(slot, "lead_invalid_choice")

    def validate_lead_household(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        return self._choice("lead_household", "household", tracker, household_in)

    def validate_lead_move_when(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        return self._choice("lead_move_when", "move_when", tracker, move_when_in)

    def validate_lead_language(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        return self._choice("lead_language", "preferred_language", tracker, language_in)

    def validate_lead_message(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        turn = self._turn(tracker)
        if turn.is_skip():
            return {"lead_message": ""}
        return {"lead_message": turn.text.strip()} if not turn.is_payload else _invalid("lead_message", "lead_invalid_choice")

    def validate_lead_confirm(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        turn = self._turn(tracker)
        correcting = bool(tracker.get_slot("lead_correcting"))
        field = correction_field(turn)
        if field:  # ask that question again; the summary comes back after it
            reset: dict[str, Any] = {FIELDS[field]: None, "lead_confirm": None, "lead_correcting": None}
            if field == "topics":
                reset["lead_topics_picked"] = None
            return reset
        if turn.is_yes() and (turn.is_payload or not correcting):  # typed "ok" to "which detail?" is no answer
            return {"lead_confirm": True, "lead_correcting": None}
        if turn.is_correct() or turn.is_no():
            return {"lead_confirm": None, "lead_correcting": True}
        return _invalid("lead_confirm", "lead_invalid_choice" if correcting else "lead_confirm_hint")

    async def validate_lead_consent(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict[str, Any]:
        turn = self._turn(tracker)
        if turn.is_no():
            return {"lead_consent": None, "lead_outcome": "declined", "requested_slot": None}
        if not turn.is_yes():
            return _invalid("lead_consent", "lead_yes_no")
        kb = runtime().kb
        lang = _lang(tracker)
        text = kb.phrase("ask_consent", lang)
        if tracker.get_slot("lead_consent_version") != consent_version(text):
            return {"lead_consent": None}  # the wording changed since it was shown: show it again
        try:
            reference = await asyncio.to_thread(store_lead, tracker, lang, text)
        except Exception:  # LeadError or any database error: never claim success, keep everything
            log.exception("could not store the lead of session %s", tracker.sender_id)
            return _invalid("lead_consent", "lead_failed")
        return {"lead_consent": True, "lead_outcome": "sent", "lead_reference": reference}


def form_started_at(tracker: Tracker) -> datetime | None:
    """When this run of the form began (Rasa's event for its latest activation)."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM and event.get("timestamp"):
            return datetime.fromtimestamp(event["timestamp"], UTC)
    return None


def stored_in_this_run(session_id: str, since: datetime | None) -> str | None:
    """The reference of a lead already stored by this run of the form, if any.

    A lead is committed before Rasa saves the turn; if Rasa (or its tracker store) fails in
    between, the mover never saw the reference and the form still waits for consent. Their
    next "yes" must give them that reference, not store the request a second time."""
    if since is None:
        return None
    with db.session_scope() as session:
        return session.scalar(select(Lead.reference).where(Lead.session_id == session_id, Lead.created_at >= since)
                              .order_by(Lead.created_at.desc()).limit(1))


def store_lead(tracker: Tracker, lang: str, consent_text: str) -> str:
    """create_lead with the form's answers, the consent just given and the conversation so far
    (or the reference of the lead this run of the form already stored)."""
    earlier = stored_in_this_run(tracker.sender_id, form_started_at(tracker))
    if earlier:
        log.warning("lead %s was already stored for session %s (its reply was lost); not storing it again", earlier, tracker.sender_id)
        return earlier
    slot = tracker.get_slot
    data = LeadInput(
        name=slot("lead_name"), email=slot("lead_email"), phone=slot("lead_phone") or None,
        country=slot("lead_country"), profession=slot("lead_profession"),
        help_topics=tuple(slot("lead_topics") or ()), household=slot("lead_household"), move_when=slot("lead_move_when"),
        preferred_language=slot("lead_language"), message=slot("lead_message") or None,
        chat_language=lang, source="chat",
    )
    consent = Consent(text=consent_text, lang=lang, given_at=datetime.now(UTC), version=consent_version(consent_text))
    return create_lead(data, consent, build_transcript(tracker.events), tracker.sender_id)


# ---------------------------------------------------------------- after the form

class ActionLeadFinish(Action):
    """Tells the outcome, then forgets the form: no personal data stays in the slots."""

    def name(self) -> str:
        return "action_lead_finish"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        kb = runtime().kb
        lang = _lang(tracker)
        outcome = tracker.get_slot("lead_outcome")
        reference = tracker.get_slot("lead_reference")
        if outcome == "sent" and reference:
            _send(dispatcher, {**replies.text(kb, "lead_sent", lang, name=tracker.get_slot("lead_name") or "", reference=reference),
                               "decision": "lead_sent"})
        elif outcome == "declined":
            _send(dispatcher, {**replies.text(kb, "consent_required", lang), "decision": "form_cancelled"})
        elif outcome == "left":  # the mover asked something else instead: answer it; nothing was stored
            events = await ActionAnswer().run(dispatcher, tracker, domain)
            _send(dispatcher, {**replies.text(kb, "lead_cancelled", lang), "decision": "form_cancelled"})
            return [*cleared_slots(tracker), *events]
        else:
            _send(dispatcher, {**replies.text(kb, "lead_cancelled", lang), "decision": "form_cancelled"})
        return cleared_slots(tracker)
