"""The messages the bot sends, as the public chat API shows them.

Every message has `text` and `lang`; an answer from the knowledge base adds `topic`, `sources`
and `candidates`; a reply that declines or asks which topic was meant has `topic: null` and
`candidates`. Buttons carry payloads that web/ accepts (see web/payloads.py).
"""

from __future__ import annotations

import json

from knowledge.loader import KnowledgeBase

PAYLOAD_TALK_TO_PERSON = "/talk_to_person"
PAYLOAD_BROWSE = "/browse_topics"
PAYLOAD_MORE = "/more_details"


def topic_payload(topic_id: str) -> str:
    return "/ask_topic" + json.dumps({"topic": topic_id}, separators=(",", ":"))


def topic_button(kb: KnowledgeBase, topic_id: str, lang: str) -> dict:
    return {"title": kb.title(topic_id, lang), "payload": topic_payload(topic_id)}


def talk_button(kb: KnowledgeBase, lang: str) -> dict:
    return {"title": kb.phrase("talk_to_person", lang), "payload": PAYLOAD_TALK_TO_PERSON}


def browse_button(kb: KnowledgeBase, lang: str) -> dict:
    return {"title": kb.phrase("browse_topics", lang), "payload": PAYLOAD_BROWSE}


def text(kb: KnowledgeBase, key: str, lang: str, buttons: list[dict] | None = None, **values) -> dict:
    message = {"text": kb.phrase(key, lang, **values), "lang": lang}
    if buttons:
        message["buttons"] = buttons
    return message


def _topic_message(kb: KnowledgeBase, topic_id: str, lang: str, body: str, candidates: list[str], buttons: list[dict]) -> dict:
    """A message that answers from a topic: its text, title and sources."""
    topic = kb.topics[topic_id]
    return {
        "text": body,
        "lang": lang,
        "topic": topic_id,
        "title": topic.entry(lang).title,
        "sources": [s.url for s in topic.sources],
        "source_names": [s.name for s in topic.sources],
        "candidates": candidates,
        "buttons": buttons,
    }


def answer(kb: KnowledgeBase, topic_id: str, lang: str, candidates: list[str], offer_related: list[str] | None = None) -> list[dict]:
    """The knowledge-base answer, then (as buttons) more detail, related topics and a person."""
    topic = kb.topics[topic_id]
    entry = topic.entry(lang)
    buttons = []
    if entry.details:
        buttons.append({"title": kb.phrase("more_details", lang), "payload": PAYLOAD_MORE})
    related = offer_related if offer_related is not None else list(topic.related)
    buttons += [topic_button(kb, t, lang) for t in related[:3] if t in kb.topics and t != topic_id]
    buttons.append(talk_button(kb, lang))
    return [_topic_message(kb, topic_id, lang, entry.answer, candidates, buttons)]


def passage(kb: KnowledgeBase, topic_id: str, lang: str, body: str) -> dict:
    """A part of a topic's answer or details that answers a follow-up ("and how much does it cost?")."""
    buttons = []
    if kb.topics[topic_id].entry(lang).details:
        buttons.append({"title": kb.phrase("more_details", lang), "payload": PAYLOAD_MORE})
    buttons.append(talk_button(kb, lang))
    return _topic_message(kb, topic_id, lang, body, [topic_id], buttons)


# Where the emergency and crisis texts point (knowledge/phrases.yml has the texts).
SAFETY_SOURCES = {
    "emergency": [("https://www.sosalarm.se/112", "SOS Alarm – 112"), ("https://www.1177.se", "1177 Vårdguiden")],
    "crisis": [("https://mind.se/hitta-hjalp/sjalvmordslinjen/", "Mind – Självmordslinjen 90101"), ("https://www.sosalarm.se/112", "SOS Alarm – 112")],
}


def emergency(kb: KnowledgeBase, kind: str, lang: str) -> list[dict]:
    """112 first (or the crisis text with 112 and the suicide line), before anything else."""
    sources = SAFETY_SOURCES[kind]
    return [{**text(kb, kind, lang), "decision": "emergency", "topic": None, "candidates": [],
             "sources": [url for url, _ in sources], "source_names": [name for _, name in sources]}]


def details(kb: KnowledgeBase, topic_id: str | None, lang: str) -> list[dict]:
    if topic_id is None or topic_id not in kb.topics:
        return [text(kb, "ask_rephrase", lang)]
    topic = kb.topics[topic_id]
    entry = topic.entry(lang)
    if not entry.details:
        return [{**text(kb, "no_more_details", lang), "topic": topic_id, "sources": [s.url for s in topic.sources], "candidates": [topic_id]}]
    return [_topic_message(kb, topic_id, lang, entry.details, [topic_id], [talk_button(kb, lang)])]


def clarify(kb: KnowledgeBase, candidates: list[str], lang: str) -> list[dict]:
    buttons = [topic_button(kb, t, lang) for t in candidates]
    return [{**text(kb, "clarify", lang, buttons), "topic": None, "candidates": candidates}]


def decline(kb: KnowledgeBase, candidates: list[str], lang: str) -> list[dict]:
    buttons = [topic_button(kb, t, lang) for t in candidates] + [talk_button(kb, lang)]
    return [{**text(kb, "decline", lang, buttons), "topic": None, "candidates": candidates}]


def out_of_scope(kb: KnowledgeBase, category: str | None, candidates: list[str], lang: str) -> list[dict]:
    found = kb.out_of_scope.categories.get(category) if category else None
    message = {"text": found.reply[lang] if found else kb.phrase("out_of_scope", lang), "lang": lang,
               "topic": None, "candidates": candidates,
               "buttons": [{"title": kb.phrase("browse_topics", lang), "payload": PAYLOAD_BROWSE}, talk_button(kb, lang)]}
    if found and found.pointer:
        message["sources"] = [found.pointer.url]
        message["source_names"] = [found.pointer.name]
    return [message]


def topics_menu(kb: KnowledgeBase, lang: str) -> list[dict]:
    buttons = [topic_button(kb, t, lang) for t in kb.topics]
    return [{**text(kb, "topics_menu", lang, buttons), "topic": None, "candidates": []}]
