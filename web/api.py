"""The public chat API used by the widget (and by tools that measure the bot).

POST /api/chat   {"session"?, "message" | "payload", "lang"?} -> {"session", "messages": [...]}
GET  /api/topics?lang=xx                                      -> {"topics": [{"id", "title", "payload"}]}
GET  /api/health                                              -> each component's status
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata

from flask import Blueprint, current_app, jsonify, request

import settings
from actions.replies import topic_payload
from web import payloads, rasa_client
from web.errors import ApiError
from web.knowledge_access import kb, store

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MESSAGE_KEYS = ("text", "lang", "topic", "title", "sources", "source_names", "candidates", "buttons", "decision")


def _clean_text(value: str) -> str:
    """Drop control and format characters (keep newlines and tabs) and surrounding space."""
    kept = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return unicodedata.normalize("NFC", kept).strip()


def _lang(value, field: str = "lang") -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.lower() not in settings.LANGUAGES:
        raise ApiError(400, "invalid_lang", f"'{field}' must be one of {', '.join(settings.LANGUAGES)}.")
    return value.lower()


def _parse_chat_request() -> tuple[str, str, str | None]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object like {\"message\": \"Hello\"}.")
    unknown = set(body) - {"session", "message", "payload", "lang"}
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field(s): {', '.join(sorted(map(str, unknown)))}.")
    lang = _lang(body.get("lang"))
    session = body.get("session")
    if session in (None, ""):
        session = secrets.token_urlsafe(18)
    elif not isinstance(session, str) or not SESSION_RE.match(session):
        raise ApiError(400, "invalid_session", "'session' must be the id the server returned earlier.")
    message, payload = body.get("message"), body.get("payload")
    if payload not in (None, ""):
        if not isinstance(payload, str):
            raise ApiError(400, "invalid_payload", "'payload' must be a string.")
        canonical = payloads.validate(payload, kb().topics)
        if canonical is None:
            raise ApiError(400, "unknown_payload", "That button is not one the assistant offers.")
        return session, canonical, lang
    if not isinstance(message, str):
        raise ApiError(400, "missing_message", "Send a 'message' (text) or a 'payload' (a button).")
    text = _clean_text(message)
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    if not text:
        raise ApiError(400, "empty_message", "The message is empty.")
    if len(text) > limit:
        raise ApiError(413, "message_too_long", kb().phrase("error_too_long", lang or settings.DEFAULT_LANGUAGE, max_chars=limit))
    if text.startswith("/"):
        text = text.lstrip("/").strip() or "?"  # typed text never acts as an intent payload
    return session, text, lang


def _message(item: dict, fallback_lang: str) -> dict | None:
    custom = item.get("custom")
    if isinstance(custom, dict) and custom.get("text"):
        out = {k: custom[k] for k in MESSAGE_KEYS if k in custom}
        out.setdefault("lang", fallback_lang)
        if "candidates" in out and "topic" not in out:
            out["topic"] = None
        return out
    if item.get("text"):
        out = {"text": item["text"], "lang": fallback_lang}
        if item.get("buttons"):
            out["buttons"] = [{"title": b.get("title", ""), "payload": b.get("payload", "")} for b in item["buttons"]]
        return out
    return None


@bp.post("/chat")
def chat():
    session, text, lang = _parse_chat_request()
    fallback_lang = lang or settings.DEFAULT_LANGUAGE
    metadata = {"lang": lang} if lang else {}
    try:
        raw = rasa_client.send(session, text, metadata)
    except rasa_client.RasaUnavailable as exc:
        log.error("chat backend unavailable: %s", exc)
        raise ApiError(503, "backend_unavailable", kb().phrase("error_unavailable", fallback_lang), session=session) from exc
    messages = [m for m in (_message(item, fallback_lang) for item in raw) if m]
    if not messages:  # Rasa answers [] when the action server failed
        log.error("chat backend returned no reply for session %s", session)
        raise ApiError(503, "backend_unavailable", kb().phrase("error_unavailable", fallback_lang), session=session)
    return jsonify({"session": session, "messages": messages})


@bp.get("/topics")
def topics():
    lang = _lang(request.args.get("lang")) or settings.DEFAULT_LANGUAGE
    base = kb()
    return jsonify({"topics": [{"id": t, "title": base.title(t, lang), "payload": topic_payload(t)} for t in base.topics]})


@bp.get("/health")
def health():
    cfg = current_app.config
    components = {
        "web": {"status": "ok"},
        "rasa": rasa_client.probe(cfg["RASA_URL"].rstrip("/") + "/"),
        "actions": rasa_client.probe(cfg["ACTIONS_URL"].rstrip("/") + "/health"),
        "knowledge": {"status": "ok" if store().last_error is None else "stale",
                      "topics": len(kb().topics), "fingerprint": kb().fingerprint,
                      **({"error": store().last_error} if store().last_error else {})},
    }
    healthy = all(c["status"] in ("ok", "stale") for c in components.values())
    return jsonify({"status": "ok" if healthy else "degraded", "components": components}), 200 if healthy else 503
