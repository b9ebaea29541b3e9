"""Button payloads the chat API accepts (anything else is rejected with a 400).

A payload is sent to Rasa as an intent with entities ("/ask_topic{"topic":"housing.rent"}"),
so only known intents with valid values may pass: a client cannot trigger arbitrary intents.
"""

from __future__ import annotations

import json
import re

import settings

_PAYLOAD = re.compile(r"^/([a-z_]{1,40})(\{.{0,200}\})?$", re.S)
SIMPLE = {"talk_to_person", "browse_topics", "more_details", "greet"}


def validate(payload: str, topic_ids) -> str | None:
    """The canonical payload, or None when it is not one the bot offers."""
    match = _PAYLOAD.match(payload.strip())
    if not match:
        return None
    intent, raw = match.group(1), match.group(2)
    if intent in SIMPLE and raw is None:
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
    return None
