"""The public chat API used by the widget (and by tools that measure the bot).

POST /api/chat   {"session"?, "message" | "payload", "lang"?} -> {"session", "messages": [...]}
GET  /api/topics?lang=xx                                      -> {"topics": [{"id", "title", "payload"}]}
GET  /api/health                                              -> each component's status

Session ids are issued by the server: a random part and its HMAC (itsdangerous, keyed with the
app's SECRET_KEY), so a client can only continue a conversation the server started for it, never
pick (or guess) another one. /api/chat is rate-limited per client address and per session
(web/security.py); the 429 tells the mover, in their language, to wait.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

from flask import Blueprint, Flask, current_app, jsonify, request
from flask_limiter.util import get_remote_address
from itsdangerous import Signer

import settings
from actions.replies import topic_payload
from web import payloads, rasa_client, security
from web.errors import ApiError
from web.knowledge_access import kb, store
from web.leads.validation import clean_text

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # the shape widget.js also checks
SESSION_RANDOM_CHARS = 16  # secrets.token_urlsafe(12); the rest of the id is its signature (43 chars)


def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt="move.chat-session", digest_method=hashlib.sha256)


def issue_session() -> str:
    """A new session id: 16 random characters followed by their signature (59 characters, URL-safe)."""
    random_part = secrets.token_urlsafe(12)
    return random_part + _signer().get_signature(random_part).decode("ascii")


def valid_session(value: object) -> str | None:
    """The session id if this server issued it (signature checked in constant time), else None."""
    if not isinstance(value, str) or not SESSION_RE.match(value) or len(value) <= SESSION_RANDOM_CHARS:
        return None
    random_part, signature = value[:SESSION_RANDOM_CHARS], value[SESSION_RANDOM_CHARS:]
    # Compare with the one canonical signature: base64's last character carries unused bits, so a
    # verify_signature() that decodes first would also accept a second spelling of the same id.
    expected = _signer().get_signature(random_part).decode("ascii")
    return value if hmac.compare_digest(expected, signature) else None


MESSAGE_KEYS = ("text", "lang", "topic", "title", "sources", "source_names", "candidates", "buttons", "decision", "act")


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
        session = issue_session()
    elif valid_session(session) is None:
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
    text = clean_text(message)
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
    if any(isinstance(item.get("custom"), dict) and item["custom"].get("new_session") for item in raw):
        rasa_client.start_new_session(session)  # keeps long conversations as fast as short ones
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


# ---------------------------------------------------------------- rate limits

def _request_lang() -> str:
    body = request.get_json(silent=True)
    lang = body.get("lang") if isinstance(body, dict) else None
    return lang.lower() if isinstance(lang, str) and lang.lower() in settings.LANGUAGES else settings.DEFAULT_LANGUAGE


def _too_many() -> str:
    return kb().phrase("chat_too_many", _request_lang())


def _session_key() -> str:
    body = request.get_json(silent=True)
    return "session:" + str(body.get("session")) if isinstance(body, dict) else "session:"


def _no_issued_session() -> bool:
    """A request without a valid session has no session counter (the per-address limit still counts it)."""
    body = request.get_json(silent=True)
    return not isinstance(body, dict) or valid_session(body.get("session")) is None


def init_app(app: Flask) -> None:
    """The API blueprint and its rate limits: per client address and per chat session on /api/chat."""
    app.register_blueprint(bp)
    limiter = security.limiter(app)
    view = app.view_functions["api.chat"]
    view = limiter.limit(security.limit_value("CHAT_RATE_LIMIT_SESSION"), key_func=_session_key, scope="chat-session",
                         error_message=_too_many,
                         exempt_when=lambda: security.limit_is_off("CHAT_RATE_LIMIT_SESSION")() or _no_issued_session())(view)
    view = limiter.limit(security.limit_value("CHAT_RATE_LIMIT_IP"), key_func=get_remote_address, scope="chat-ip",
                         error_message=_too_many, exempt_when=security.limit_is_off("CHAT_RATE_LIMIT_IP"))(view)
    app.view_functions["api.chat"] = view
