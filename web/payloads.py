"""Button payloads the chat API accepts (anything else is rejected with a 400).

A payload is sent to Rasa as an intent with entities ("/ask_topic{"topic":"housing.rent"}"),
so only known intents with valid values may pass: a client cannot trigger arbitrary intents.
"""

from __future__ import annotations

import json
import re

import settings
from web.leads.service import HELP_TOPICS, HOUSEHOLDS, MOVE_WHEN

_PAYLOAD = re.compile(r"^/([a-z_]{1,40})(\{.{0,200}\})?$", re.S)
SIMPLE = {"talk_to_person", "browse_topics", "more_details", "greet"}

# The contact form's buttons (actions/lead_form.py): /cancel, /skip, /affirm, /deny, /done, /correct,
# /correct{"field": <one of CORRECTABLE_FIELDS>} and /inform{<key>: <one of INFORM_CHOICES[key]>}.
FORM_SIMPLE = {"cancel", "skip", "affirm", "deny", "done", "correct"}
CORRECTABLE_FIELDS = ("name", "email", "phone", "country", "profession", "topics", "household", "move_when", "language", "message")
INFORM_CHOICES: dict[str, tuple[str, ...]] = {
    "help_topic": HELP_TOPICS,
    "household": HOUSEHOLDS,
    "move_when": MOVE_WHEN,
    "preferred_language": settings.LANGUAGES,
}


def validate(payload: str, topic_ids) -> str | None:
    """The canonical payload, or None when it is not one the bot offers."""
    match = _PAYLOAD.match(payload.strip())
    if not match:
        return None
    intent, raw = match.group(1), match.group(2)
    if (intent in SIMPLE or intent in FORM_SIMPLE) and raw is None:
        return f"/{intent}"
    try:
        values = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(values, dict) or len(values) != 1:
        return None
    (key, value), = values.items()
    if not isinstance(value, str):
        return None
    if intent == "ask_topic" and key == "topic" and value in topic_ids:
        return "/ask_topic" + json.dumps({"topic": value}, separators=(",", ":"))
    if intent == "set_language" and key == "lang" and value in settings.LANGUAGES:
        return "/set_language" + json.dumps({"lang": value}, separators=(",", ":"))
    if intent == "inform" and value in INFORM_CHOICES.get(key, ()):
        return "/inform" + json.dumps({key: value}, separators=(",", ":"))
    if intent == "correct" and key == "field" and value in CORRECTABLE_FIELDS:
        return "/correct" + json.dumps({"field": value}, separators=(",", ":"))
    return None
