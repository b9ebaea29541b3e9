"""action_answer: every message and button press that is not an answer to the lead form.

It settles the reply language, then reads the message against the conversation:
1. someone in danger: the emergency (112) or crisis text first, whatever else the message says;
2. a button (topic, more details, topics, a person);
3. a conversation act the classifier is sure of: greeting, how-are-you, who-are-you, thanks, bye,
   "ok", "yes" / "no" (read against what the bot offered last), "I don't know", a wish to talk to
   a person (starts the contact form), "that's not what I asked" (repair), a follow-up;
4. a follow-up on the current topic ("and how much does it cost?"): answered from the part of
   that topic that fits the question;
5. otherwise the standalone decision: answer / ask back / out of scope / "I don't know".
The same text is never sent twice in a row.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import settings
from actions import replies
from actions.runtime import runtime
from knowledge import facets, langid
from knowledge.textnorm import fold
from knowledge.understand import Reading, looks_random, understand
from web.leads.service import record_turn

log = logging.getLogger(__name__)

SMALL_TALK = ("greet", "goodbye", "thanks", "how_are_you", "who_are_you")
# A message that starts like this continues the conversation ("and ...", "what if ...", "a jeśli",
# "o jei", "un ja", "och om"): read against the current topic first.
CONTINUATION = re.compile(r"^(and|but|what about|what if|how about|also|och|men|hur blir det med|a|i|ale|oraz|o|ir|bet|un|tad)\b")
_HAS_LETTER = re.compile(r"[^\W\d_]")
# A follow-up is short: a longer message without its own topic is a new question (one that starts
# like a continuation or points back may be a little longer).
FOLLOWUP_MAX_WORDS = 9
FOLLOWUP_LINKED_MAX_WORDS = 14
# A follow-up is answered from the current topic's best passage when it is at least this similar.
PASSAGE_MIN = 0.80
PASSAGE_PAIR_MARGIN = 0.015  # ... and the next passage goes with it when it scores this close
PASSAGE_PAIR_CHARS = 700
# A message with one of these words points back at what was just said or puts a condition on it
# ("can we still apply somehow?", "is that job bank free?", "da się jakoś bez tego?", "and if we
# have no BankID?"): read against the current topic even when it names another topic's term.
REFERS_BACK = {lang: re.compile(rf"\b({words})\b") for lang, words in {
    "en": "it|that|this|there|still|somehow|then|if",
    "sv": "det|den|dar|anda|da|sa|dit|om",
    "pl": "to|tego|tym|tam|jakos|jednak|wtedy|jesli|jezeli|gdyby",
    "lt": "tai|ta|tas|ten|vis tiek|kaip nors|tada|jei|jeigu",
    "lv": "to|tas|tur|tomer|kaut ka|tad|ja",
}.items()}
# A message that names another topic ("what about school for our son?", "how do I open a bank
# account before I have a personnummer?") moves to it when it reads surer of that topic alone than
# of the current one in context; by this much more when it points back ("can we still apply?").
FOLLOWUP_SWITCH_MARGIN = 0.15
# A message this short ("vart söker man?", "gdzie się składa papiery?") rarely has a topic of its
# own even when a word of it leans to one: it stays on the current topic when it reads surer of it
# in context than of its own topic alone.
FOLLOWUP_SHORT_WORDS = 5
# A follow-up's passage: the share of the score that comes from the spelling overlap between the
# question and the passage (character n-grams: "dentysta" / "dentyści", "studentbostad").
PASSAGE_SPELLING_WEIGHT = 0.15
# An out-of-scope reading is overruled by the current topic only when neither classifier is this
# sure of it ("how big a deposit is needed?" after buying a home; not "who won Melodifestivalen?").
FOLLOWUP_OOS_MAX = 0.7
FOLLOWUP_CHAR_OOS_MAX = 0.35
# What the last reply offered, so that "yes" means something: the details of the topic, or a person;
# after "which of these did you mean?", a follow-up is read against the choice it fits best.
OFFER_DETAILS, OFFER_PERSON, OFFER_CHOICE = "details", "person", "choice"
FORM = "lead_form"
CONTACT_TOPIC = "service.contact"  # its answer offers the contact form: "yes" starts it


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


def fingerprint(messages: list[dict]) -> str:
    return hashlib.sha256("\n".join(m.get("text", "") for m in messages).encode()).hexdigest()[:16]


class Turn:
    """One turn of action_answer: the conversation's state in, the messages and slot changes out."""

    def __init__(self, tracker: Tracker):
        self.tracker = tracker
        self.rt = runtime()
        self.kb = self.rt.kb
        message = tracker.latest_message
        self.text = (message.get("text") or "").strip()
        self.intent = (message.get("intent") or {}).get("name") or ""
        self.entities = {e.get("entity"): e.get("value") for e in message.get("entities") or []}
        self.is_payload = self.text.startswith("/")
        # keyboard mashing says nothing about the language: keep the conversation's
        self.lang = conversation_language(tracker, self.text, self.is_payload or looks_random(self.text))
        self.last_topic = tracker.get_slot("last_topic")
        self.offer = tracker.get_slot("last_offer")
        self.candidates = [t for t in tracker.get_slot("last_candidates") or [] if t in self.kb.topics]
        self.events: list[EventType] = []
        self.start_form = False
        self.new_offer: str | None = None
        self.new_candidates: list[str] | None = None

    # ---------------------------------------------------------------- replies

    def phrase(self, key: str, buttons: list[dict] | None = None, values: dict | None = None, **fields) -> list[dict]:
        """One message with a phrase of knowledge/phrases.yml (its {placeholders} from `values`)
        and extra fields (decision, act ...)."""
        return [{**replies.text(self.kb, key, self.lang, buttons, **(values or {})), **fields}]

    def topic_answer(self, topic_id: str, candidates: list[str], related: list[str] | None = None) -> list[dict]:
        self.last_topic = topic_id
        out = replies.answer(self.kb, topic_id, self.lang, candidates, related)
        if topic_id == CONTACT_TOPIC:
            self.new_offer = OFFER_PERSON
        elif self.kb.topics[topic_id].entry(self.lang).details:
            self.new_offer = OFFER_DETAILS
        out[0]["decision"] = "answer"
        return out

    def details(self, topic_id: str | None) -> list[dict]:
        out = replies.details(self.kb, topic_id, self.lang)
        out[0]["decision"] = "details" if topic_id in self.kb.topics else "rephrase"
        return out

    def passage_answer(self, topic_id: str, reading: Reading, context: Reading | None = None) -> list[dict] | None:
        """The part of a topic that answers a follow-up, unless it is what was just said. Passages
        are scored by the question alone and read in the topic's context, plus a bonus when they
        have the kind of fact asked for (an amount for "how much", a duration for "how long")."""
        previous = self.tracker.get_slot("last_reply")
        wanted = facets.asked(reading.text)
        plain = dict(self.rt.retriever.passages(topic_id, self.lang, reading.vector))
        in_context = dict(self.rt.retriever.passages(topic_id, self.lang, context.vector)) if context else plain
        before = self.previous_question() if context else None
        if before:
            # "how much is it a month?" after a question about child allowance: the subject is in the
            # question before, not in the topic's title (its passages also list unemployment benefit)
            subject = dict(self.rt.retriever.passages(topic_id, self.lang, self.rt.retriever.embed(f"{before} {self.text}")))
            in_context = {p: (in_context[p] + subject[p]) / 2 for p in in_context}
        spelling = self.rt.retriever.spelling_overlap(reading.text, list(plain))
        w = PASSAGE_SPELLING_WEIGHT
        scored = sorted((((1 - w) * (0.5 * plain[p] + 0.5 * in_context[p]) + w * (plain[p] + spelling[p]) / 2 + facets.bonus(p, wanted), p)
                         for p in plain), reverse=True)
        for rank, (score, body) in enumerate(scored[:3]):
            if score < PASSAGE_MIN:
                break
            # a second passage nearly as good goes with it: two short parts answer more often than one
            runner_up = scored[rank + 1] if rank + 1 < len(scored) else None
            if runner_up and score - runner_up[0] <= PASSAGE_PAIR_MARGIN and len(body) + len(runner_up[1]) <= PASSAGE_PAIR_CHARS:
                body = f"{body}\n\n{runner_up[1]}"
            message = replies.passage(self.kb, topic_id, self.lang, body)
            if fingerprint([message]) != previous:
                self.last_topic = topic_id
                if self.kb.topics[topic_id].entry(self.lang).details:
                    self.new_offer = OFFER_DETAILS
                message["decision"] = "answer"
                return [message]
        return None

    def emergency(self, kind: str) -> list[dict]:
        return replies.emergency(self.kb, kind, self.lang)

    def small_talk(self, act: str) -> list[dict]:
        buttons = None
        if act in ("ack", "deny"):
            buttons = [replies.browse_button(self.kb, self.lang), replies.talk_button(self.kb, self.lang)]
        if act == "dont_know":
            self.new_offer = OFFER_PERSON
            buttons = [replies.browse_button(self.kb, self.lang), replies.talk_button(self.kb, self.lang)]
        key = {"greet": "greet", "goodbye": "goodbye", "thanks": "thanks"}.get(act, act)
        return self.phrase(key, buttons, decision="small_talk", act=act)

    def handoff(self) -> list[dict]:
        self.start_form = True
        return []

    # ---------------------------------------------------------------- reading a message

    def reply(self) -> list[dict]:
        if self.intent == "set_language" and self.entities.get("lang") in settings.LANGUAGES:
            self.lang = self.entities["lang"]
            self.events.append(SlotSet("lang_locked", True))
            return self.phrase("language_switched", values={"language_name": self.kb.phrase("language_name", self.lang)}, decision="language")
        if not self.is_payload and langid.requested_language(self.text) and len(self.text.split()) <= 10:
            self.events.append(SlotSet("lang_locked", True))
            return self.phrase("language_switched", values={"language_name": self.kb.phrase("language_name", self.lang)}, decision="language")
        if self.is_payload:
            return self.button()
        if not _HAS_LETTER.search(self.text):
            return self.rephrase()
        # the words are searched in the language they are written in, whatever the reply language
        written, confidence = langid.detect(self.text)
        self.query_lang = written if written and confidence >= langid.MIN_CONFIDENCE else self.lang
        reading = understand(self.rt.retriever, self.rt.decision, self.text, self.query_lang)
        log.info("reading danger=%s act=%s(%.2f) decision=%s topic=%s candidates=%s scores=%s", reading.danger, reading.act,
                 reading.act_p, reading.decision.kind, reading.decision.topic, reading.decision.candidates, reading.decision.scores)
        if reading.danger:
            out = self.emergency(reading.danger)
        elif reading.act is None and reading.decision.kind != "answer" and (looks_random(self.text) or (reading.decision.kind == "decline" and reading.ranking.lexical_top == 0
                                                                  and reading.words <= 3)):
            out = self.rephrase()
        elif self.wants_person(reading):
            out = self.handoff()
        else:
            out = self.act(reading) or self.followup(reading) or self.standalone(reading)
        _record_turn_later(self.tracker.sender_id, self.lang, self.text, out[0].get("decision", "") if out else "handoff",
                           out[0].get("topic") if out else None)
        return out

    def wants_person(self, reading: Reading) -> bool:
        """"Can someone from the team contact me?" reads much like the contact topic: a request
        for a person wins when the classifier sees one and the topic would be the contact page."""
        p = reading.ranking.acts.get("talk_to_person", 0.0)
        nearest = reading.ranking.acts_dense.get("talk_to_person", 0.0)
        nearest_act = max(reading.ranking.acts_dense.items(), key=lambda kv: kv[1], default=("", 0.0))[0]
        return reading.act == "talk_to_person" or (reading.act is None and reading.decision.candidates[:1] == [CONTACT_TOPIC]
                                                   and reading.words <= 20
                                                   and (p >= 0.1 or (nearest >= 0.93 and nearest_act == "talk_to_person")))

    def button(self) -> list[dict]:
        if self.intent == "ask_topic" and self.entities.get("topic") in self.kb.topics:
            return self.topic_answer(self.entities["topic"], [self.entities["topic"]])
        if self.intent == "more_details":
            return self.details(self.last_topic)
        if self.intent == "browse_topics":
            return self.menu()
        if self.intent == "talk_to_person":
            return self.handoff()
        if self.intent in SMALL_TALK:  # the widget greets with /greet when it opens
            return self.small_talk(self.intent)
        return self.rephrase()

    def menu(self) -> list[dict]:
        out = replies.topics_menu(self.kb, self.lang)
        out[0]["decision"] = "menu"
        return out

    def rephrase(self) -> list[dict]:
        return self.phrase("ask_rephrase", [replies.browse_button(self.kb, self.lang), replies.talk_button(self.kb, self.lang)],
                           decision="rephrase", topic=None, candidates=[])

    def act(self, reading: Reading) -> list[dict] | None:
        act = reading.act
        if act is None:
            return None
        if act in ("ack", "affirm") and (reading.ranking.acts.get("thanks", 0.0) >= 0.25
                                         or max(reading.ranking.acts_dense.items(), key=lambda kv: kv[1])[0] == "thanks"):
            act = "thanks"  # "ok dzięki", "tack ändå"
        if act in SMALL_TALK or act == "dont_know":
            return self.small_talk(act)
        if act == "talk_to_person":
            return self.handoff()
        if act == "ack":
            return self.small_talk("ack")
        if act == "affirm":
            if self.offer == OFFER_DETAILS and self.last_topic:
                return self.details(self.last_topic)
            if self.offer == OFFER_PERSON:
                return self.handoff()
            return self.small_talk("ack")
        if act == "deny":
            return self.small_talk("deny")
        if act == "cancel":
            return self.phrase("cancel_nothing", [replies.browse_button(self.kb, self.lang)], decision="small_talk", act="cancel")
        if act == "more_details":
            return self.details(self.last_topic) if self.last_topic else self.menu()
        if act == "browse_topics":
            return self.menu()
        if act == "repair":
            return self.repair(reading)
        return None  # followup: read against the current topic below

    def repair(self, reading: Reading) -> list[dict]:
        """"That's not what I asked" / "I meant schools": the topic named, or the other candidates."""
        named = reading.decision
        if named.kind == "answer" and named.topic != self.last_topic and reading.ranking.lexical_top > 0:
            return self.topic_answer(named.topic, named.candidates)
        others = [t for t in self.candidates + reading.decision.candidates if t != self.last_topic]
        others = list(dict.fromkeys(others))[:3]
        if not others:
            return self.rephrase()
        self.new_candidates = others
        buttons = [replies.topic_button(self.kb, t, self.lang) for t in others] + [replies.talk_button(self.kb, self.lang)]
        return self.phrase("repair", buttons, decision="clarify", topic=None, candidates=others)

    def previous_question(self) -> str | None:
        """What the mover typed in the turn before this one (not a button), or None."""
        event = self.tracker.get_last_event_for("user", skip=1) or {}
        text = (event.get("text") or "").strip()
        return text if text and not text.startswith("/") else None

    def in_context(self, topic_id: str) -> Reading:
        """The message read as a question about `topic_id` ("Preschool: and how much does it cost?")."""
        return understand(self.rt.retriever, self.rt.decision, f"{self.kb.title(topic_id, self.lang)}: {self.text}", self.lang)

    def followup(self, reading: Reading) -> list[dict] | None:
        """A short message without a topic of its own, read as a question about the current topic."""
        topic = self.last_topic
        after_choice = self.offer == OFFER_CHOICE and bool(self.candidates)
        folded = fold(self.text)
        continues = reading.act == "followup" or bool(CONTINUATION.match(folded))
        refers_back = bool(REFERS_BACK.get(self.query_lang, REFERS_BACK["en"]).search(folded))
        if reading.words > (FOLLOWUP_LINKED_MAX_WORDS if continues or refers_back else FOLLOWUP_MAX_WORDS):
            return None
        short = reading.words <= FOLLOWUP_SHORT_WORDS
        own = reading.decision
        # what needs no second reading (each one embeds the message again, ~10 ms): after a choice
        # only a continuation is a follow-up; a question with a topic of its own that neither
        # continues, points back nor is short is a new question
        if after_choice and not continues:
            return None
        if reading.act != "followup" and own.kind == "answer" and own.topic != topic and not (continues or refers_back or short):
            return None
        contexts = {}
        if after_choice:
            # "and how much does it cost?" after "preschool or family life?": the choice it reads
            # most surely as a follow-up of
            contexts = {t: self.in_context(t) for t in self.candidates[:self.rt.decision.candidates]}
            topic = max(contexts, key=lambda t: contexts[t].decision.scores.get(t, 0.0))
        if topic not in self.kb.topics:
            return None
        context = contexts.get(topic) or self.in_context(topic)
        near = (topic, *self.kb.topics[topic].related)
        stays = context.decision.kind == "answer" and context.decision.topic in near
        margin = FOLLOWUP_SWITCH_MARGIN if refers_back else 0.0
        if own.kind == "answer" and own.topic != topic and own.scores[own.topic] > context.decision.scores.get(topic, 0.0) + margin:
            return None  # read alone it is surer of its own topic than read as a follow-up: a new question
        if continues and context.decision.topic in near:
            pass  # "and if we have no BankID?" after preschool: still preschool
        elif reading.act != "followup" and own.kind == "answer" and own.topic != topic:
            if not ((refers_back or short) and context.decision.topic == topic):
                return None  # a question with its own topic ("what about rent?")
        elif reading.act != "followup" and own.kind == "out_of_scope":
            if not (stays and reading.ranking.p_oos < FOLLOWUP_OOS_MAX and reading.ranking.char_p_oos < FOLLOWUP_CHAR_OOS_MAX):
                return None  # "will it snow tomorrow?" after the climate answer is still a forecast
        target = topic
        if context.decision.kind == "answer" and context.decision.topic in self.kb.topics[topic].related:
            target = context.decision.topic  # "what about my youngest, she's 2?" after schools -> preschool
            if target != self.last_topic:
                return self.topic_answer(target, context.decision.candidates)
        found = self.passage_answer(target, reading, context)
        if found:
            return found
        details = self.details(target)
        return details if fingerprint(details) != self.tracker.get_slot("last_reply") else None

    def standalone(self, reading: Reading) -> list[dict]:
        decision = reading.decision
        if decision.kind == "answer":
            if decision.topic == self.last_topic:  # asked again, in other words: the part that fits, not the same article
                same = self.passage_answer(decision.topic, reading, self.in_context(decision.topic))
                if same:
                    return same
            close = [t for t in decision.candidates[1:] if decision.scores.get(t, 0) >= self.rt.decision.answer_min]
            related = close + [t for t in self.kb.topics[decision.topic].related if t not in close]
            self.new_candidates = decision.candidates
            return self.topic_answer(decision.topic, decision.candidates, related)
        self.new_candidates = decision.candidates
        if decision.kind == "clarify":
            self.new_offer = OFFER_CHOICE
            out = replies.clarify(self.kb, decision.candidates, self.lang)
        elif decision.kind == "out_of_scope":
            out = replies.out_of_scope(self.kb, decision.oos_category, decision.candidates, self.lang)
        else:
            self.new_offer = OFFER_PERSON
            out = replies.decline(self.kb, decision.candidates, self.lang)
        out[0]["decision"] = decision.kind
        return out

    # ---------------------------------------------------------------- the turn's events

    def finish(self, dispatcher: CollectingDispatcher, out: list[dict]) -> list[EventType]:
        slot = self.tracker.get_slot
        if self.start_form:
            dispatcher.utter_message(json_message={**replies.text(self.kb, "handoff_intro", self.lang), "decision": "handoff"})
            from actions.lead_form import cleared_slots

            return [SlotSet("lang", self.lang), *self.events, *cleared_slots(self.tracker), SlotSet("last_offer", None),
                    FollowupAction(FORM)]
        if needs_new_session(self.tracker):
            out[-1]["new_session"] = True  # read by web/api.py, never shown
        for message in out:
            dispatcher.utter_message(json_message=message)
        events = list(self.events)
        changes = {"lang": self.lang, "last_topic": self.last_topic, "last_offer": self.new_offer,
                   "last_reply": fingerprint(out[:1])}
        if self.new_candidates is not None:
            changes["last_candidates"] = self.new_candidates
        events += [SlotSet(name, value) for name, value in changes.items() if value != slot(name)]
        return events


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        turn = Turn(tracker)
        return turn.finish(dispatcher, turn.reply())
