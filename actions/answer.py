"""action_answer: every question, greeting and button press that is not the lead form.

It settles the reply language, then answers a chosen topic, shows more detail, or asks the
retriever which topic fits and acts on the decision (answer / clarify / out of scope / decline).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import settings
from actions import replies
from actions.runtime import runtime
from knowledge import langid
from knowledge.decide import decide
from knowledge.nlu_export import TOPIC_INTENT_PREFIX
from web.leads.service import record_turn

log = logging.getLogger(__name__)


SMALL_TALK = {"greet": "greet", "goodbye": "goodbye", "thanks": "thanks"}
SMALL_TALK_MAX_WORDS = 4
SHORT_COMMAND_WORDS = 6
_HAS_LETTER = re.compile(r"[^\W\d_]")


def rasa_out_of_scope(message: dict[str, Any]) -> float:
    return next((float(i.get("confidence") or 0) for i in message.get("intent_ranking") or [] if i.get("name") == "out_of_scope"), 0.0)


def rasa_topic_scores(message: dict[str, Any]) -> dict[str, float]:
    """Rasa's confidence per topic, from its intent ranking (intents named kb.<topic id>)."""
    ranking = message.get("intent_ranking") or []
    return {
        item["name"][len(TOPIC_INTENT_PREFIX):]: float(item.get("confidence") or 0.0)
        for item in ranking
        if str(item.get("name", "")).startswith(TOPIC_INTENT_PREFIX)
    }


def conversation_language(tracker: Tracker, text: str, is_payload: bool) -> str:
    """The reply language: the conversation's, unless this message settles another one. Once the
    user has chosen a language explicitly (lang_locked), only another explicit choice changes it."""
    metadata = tracker.latest_message.get("metadata") or {}
    ui_lang = metadata.get("lang") if metadata.get("lang") in settings.LANGUAGES else None
    current = tracker.get_slot("lang")
    if is_payload or (current and tracker.get_slot("lang_locked") and not langid.requested_language(text)):
        return current or ui_lang or settings.DEFAULT_LANGUAGE
    return langid.choose_language(text, current, ui_lang, settings.DEFAULT_LANGUAGE)


def _record_turn_later(session_id: str, lang: str, text: str, decision: str, topic: str | None) -> None:
    """Record the question for the staff insights page (masked) without delaying the reply."""
    asyncio.get_running_loop().run_in_executor(None, record_turn, session_id, lang, text, decision, topic)


def needs_new_session(tracker: Tracker) -> bool:
    """True when this Rasa session has reached MOVE_SESSION_MAX_TURNS turns and no form is running:
    the web app then starts a new session (settings.SESSION_MAX_TURNS explains why)."""
    if settings.SESSION_MAX_TURNS <= 0 or (tracker.active_loop or {}).get("name"):
        return False
    return sum(1 for event in tracker.events if event.get("event") == "user") >= settings.SESSION_MAX_TURNS


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        rt = runtime()
        kb = rt.kb
        message = tracker.latest_message
        text = (message.get("text") or "").strip()
        intent = (message.get("intent") or {}).get("name") or ""
        entities = {e.get("entity"): e.get("value") for e in message.get("entities") or []}
        is_payload = text.startswith("/")
        lang = conversation_language(tracker, text, is_payload)
        events: list = []
        last_topic = tracker.get_slot("last_topic")

        if intent == "set_language" and entities.get("lang") in settings.LANGUAGES:
            lang = entities["lang"]
            events.append(SlotSet("lang_locked", True))
            out = [replies.text(kb, "language_switched", lang, language_name=kb.phrase("language_name", lang))]
        elif not is_payload and langid.requested_language(text) and len(text.split()) <= 6:
            events.append(SlotSet("lang_locked", True))
            out = [replies.text(kb, "language_switched", lang, language_name=kb.phrase("language_name", lang))]
        elif intent == "ask_topic" and entities.get("topic") in kb.topics:
            last_topic = entities["topic"]
            out = replies.answer(kb, last_topic, lang, [last_topic])
        elif intent == "more_details" and (is_payload or len(text.split()) <= SHORT_COMMAND_WORDS):
            out = replies.details(kb, last_topic, lang)
        elif intent == "browse_topics" and (is_payload or len(text.split()) <= SHORT_COMMAND_WORDS):
            out = replies.topics_menu(kb, lang)
        elif intent in SMALL_TALK and (is_payload or len(text.split()) <= SMALL_TALK_MAX_WORDS):
            out = [replies.text(kb, SMALL_TALK[intent], lang)]
        elif is_payload or not _HAS_LETTER.search(text):
            out = [replies.text(kb, "ask_rephrase", lang)]
        else:
            decision = decide(rt.retriever.rank(text, lang), rasa_topic_scores(message), rt.decision, rasa_out_of_scope(message), len(text.split()))
            log.info("decision %s topic=%s candidates=%s scores=%s", decision.kind, decision.topic, decision.candidates, decision.scores)
            if decision.kind == "answer":
                last_topic = decision.topic
                close = [t for t in decision.candidates[1:] if decision.scores.get(t, 0) >= rt.decision.answer_min]
                related = close + [t for t in kb.topics[decision.topic].related if t not in close]
                out = replies.answer(kb, decision.topic, lang, decision.candidates, related)
            elif decision.kind == "clarify":
                out = replies.clarify(kb, decision.candidates, lang)
            elif decision.kind == "out_of_scope":
                out = replies.out_of_scope(kb, decision.oos_category, decision.candidates, lang)
            else:
                out = replies.decline(kb, decision.candidates, lang)
            out[0]["decision"] = decision.kind
            _record_turn_later(tracker.sender_id, lang, text, decision.kind, decision.topic)

        if needs_new_session(tracker):
            out[-1]["new_session"] = True  # read by web/api.py, never shown
        for reply in out:
            dispatcher.utter_message(json_message=reply)
        if lang != tracker.get_slot("lang"):
            events.append(SlotSet("lang", lang))
        if last_topic != tracker.get_slot("last_topic"):
            events.append(SlotSet("last_topic", last_topic))
        return events

