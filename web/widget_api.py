"""The widget's own API, beside /api/chat and /api/topics:

POST /api/history  {"session"}                       -> {"session", "lang", "messages": [{"who", ...}]}
POST /api/contact  {name, email, ..., consent, ...}  -> 201 {"reference", "message"}

/api/history shows a conversation again after a reload (see web/chat_history.py). It is a POST so
the session id, which is what gives access to the conversation, stays out of access logs and caches.

/api/contact is the fallback contact form: when the assistant cannot answer (its backend is down),
the mover can still leave a request, stored as a lead exactly like one from the chat
(web.leads.service.create_lead, source "contact_form"). Strict JSON validation; every error is a
4xx {"error": {"code", "message", "field"?}} with the message in the mover's language.

Also CORS for the public widget endpoints, so the widget works on the municipality's own site
(another origin than web/): no cookies are used, so no credentials are allowed.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, jsonify, request
from flask_cors import CORS

import settings
from web import chat_history, security
from web.api import _message, valid_session
from web.knowledge_access import kb
from web.leads.service import HELP_TOPICS, Consent, LeadError, LeadInput, consent_version, create_lead

log = logging.getLogger(__name__)
bp = Blueprint("widget_api", __name__, url_prefix="/api")

PUBLIC_ENDPOINTS = r"^/api/(chat|topics|history|contact)$"

CONTACT_TEXT_FIELDS = {  # field -> required
    "name": True, "email": True, "phone": False, "country": True, "profession": False, "message": False,
}
CONTACT_CHOICE_FIELDS = ("household", "move_when", "preferred_language")
CONTACT_FIELDS = {*CONTACT_TEXT_FIELDS, *CONTACT_CHOICE_FIELDS, "help_topics", "lang", "consent", "consent_version", "session"}
MAX_FIELD_CHARS = 5000  # beyond any field's own limit: refused before any work is done

# What to tell the mover (phrases.yml key) when the lead store rejects a field.
FIELD_PHRASES = {"email": "invalid_email", "phone": "widget_invalid_phone", "help_topics": "widget_error_choose"}


class ContactError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@bp.errorhandler(ContactError)
def contact_error(exc: ContactError):
    error = {"code": exc.code, "message": exc.message}
    if exc.field:
        error["field"] = exc.field
    return jsonify({"error": error}), exc.status


def _json_object(allowed: set[str]) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ContactError(400, "invalid_json", "Send a JSON object.")
    unknown = set(body) - allowed
    if unknown:
        raise ContactError(400, "unknown_field", f"Unknown field(s): {', '.join(sorted(map(str, unknown)))[:200]}.")
    return body


def _session(value, required: bool) -> str | None:
    if value in (None, "") and not required:
        return None
    if valid_session(value) is None:  # only ids this server issued (web/api.py signs them)
        raise ContactError(400, "invalid_session", "'session' must be the id the server returned earlier.", "session")
    return value


# ---------------------------------------------------------------- history

def _title_for(payload: str, lang: str | None) -> str | None:
    """The title the widget showed for a payload sent from its own buttons (topic menu, shortcuts)."""
    base = kb()
    lang = lang if lang in settings.LANGUAGES else settings.DEFAULT_LANGUAGE
    simple = {"/talk_to_person": "talk_to_person", "/browse_topics": "browse_topics", "/more_details": "more_details"}
    if payload in simple:
        return base.phrase(simple[payload], lang)
    prefix = '/ask_topic{"topic":"'
    if payload.startswith(prefix) and payload.endswith('"}'):
        topic = payload[len(prefix):-2]
        if topic in base.topics:
            return base.title(topic, lang)
    return None


def conversation(session: str) -> dict:
    tracker_db = current_app.config.get("TRACKER_DB") or settings.TRACKER_DB
    return chat_history.load(tracker_db, session, _message, _title_for)


@bp.post("/history")
def history():
    body = _json_object({"session"})
    session = _session(body.get("session"), required=True)
    try:
        found = conversation(session)
    except chat_history.READ_ERRORS as exc:  # SQLite file or PostgreSQL (production profile)
        log.error("cannot read the conversation store: %s", exc)
        raise ContactError(503, "history_unavailable", kb().phrase("error_unavailable", settings.DEFAULT_LANGUAGE)) from exc
    return jsonify({"session": session, **found})


# ---------------------------------------------------------------- contact form

def _phrase(key: str, lang: str, **values) -> str:
    return kb().phrase(key, lang, **values)


def _contact_lang(body: dict) -> str:
    lang = body.get("lang")
    if not isinstance(lang, str) or lang not in settings.LANGUAGES:
        raise ContactError(400, "invalid_lang", f"'lang' must be one of {', '.join(settings.LANGUAGES)}.", "lang")
    return lang


def _text_field(body: dict, name: str, required: bool, lang: str) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ContactError(400, "missing_field", _phrase("widget_error_required", lang), name)
        return None
    if not isinstance(value, str):
        raise ContactError(400, "invalid_field", _phrase("widget_form_invalid", lang), name)
    if len(value) > MAX_FIELD_CHARS:
        raise ContactError(400, "field_too_long", _phrase("widget_form_invalid", lang), name)
    return value


def parse_contact(body: dict) -> tuple[LeadInput, Consent, str | None]:
    lang = _contact_lang(body)
    texts = {name: _text_field(body, name, required, lang) for name, required in CONTACT_TEXT_FIELDS.items()}
    topics = body.get("help_topics")
    if (not isinstance(topics, list) or not topics or len(topics) > len(HELP_TOPICS)
            or not all(isinstance(t, str) and t in HELP_TOPICS for t in topics)):
        raise ContactError(400, "invalid_field", _phrase("widget_error_choose", lang), "help_topics")
    choices = {}
    for name in CONTACT_CHOICE_FIELDS:
        value = body.get(name)
        if not isinstance(value, str) or len(value) > 20:
            raise ContactError(400, "invalid_field", _phrase("widget_form_invalid", lang), name)
        choices[name] = value
    if body.get("consent") is not True:
        raise ContactError(400, "consent_required", _phrase("consent_required", lang), "consent")
    consent_text = _phrase("ask_consent", lang)
    version = consent_version(consent_text)
    if body.get("consent_version") != version:
        # The privacy wording changed after the page was loaded: the mover agreed to another text.
        raise ContactError(409, "consent_changed", _phrase("widget_consent_changed", lang), "consent")
    session = _session(body.get("session"), required=False)
    data = LeadInput(
        name=texts["name"], email=texts["email"], phone=texts["phone"], country=texts["country"],
        profession=texts["profession"] or "", help_topics=tuple(dict.fromkeys(topics)),
        household=choices["household"], move_when=choices["move_when"],
        preferred_language=choices["preferred_language"], message=texts["message"],
        chat_language=lang, source="contact_form",
    )
    consent = Consent(text=consent_text, lang=lang, given_at=datetime.now(UTC), version=version)
    return data, consent, session


def _transcript(session: str | None) -> list[dict] | None:
    """The conversation before the form, for the team (create_lead masks it)."""
    if not session:
        return None
    try:
        messages = conversation(session)["messages"]
    except sqlite3.Error:
        log.warning("could not read the conversation for a contact request (sent without it)")
        return None
    return [{"who": m["who"], "text": m["text"], "at": m.get("at")} for m in messages if m.get("text")] or None


@bp.post("/contact")
def contact():
    body = _json_object(CONTACT_FIELDS)
    data, consent, session = parse_contact(body)
    lang = consent.lang
    try:
        reference = create_lead(data, consent, transcript=_transcript(session), session_id=session,
                                database_url=current_app.config.get("DATABASE_URL"))
    except LeadError as exc:
        field = exc.field if exc.field in CONTACT_FIELDS else None
        key = FIELD_PHRASES.get(exc.field, "widget_error_required" if exc.message == "is required" else "widget_form_invalid")
        raise ContactError(400, "invalid_field", _phrase(key, lang), field) from exc
    except Exception as exc:
        log.exception("could not store a contact request")
        raise ContactError(503, "not_saved", _phrase("lead_failed", lang)) from exc
    name = " ".join(data.name.split())
    return jsonify({"reference": reference, "message": _phrase("lead_sent", lang, name=name, reference=reference)}), 201


# ---------------------------------------------------------------- registration

def register(app: Flask) -> None:
    """The widget endpoints, CORS for every endpoint the widget calls, and a rate limit on the form."""
    app.config.setdefault("CONTACT_RATE_LIMIT", settings.CONTACT_RATE_LIMIT)
    app.config.setdefault("WIDGET_ORIGINS", settings.WIDGET_ORIGINS)
    app.register_blueprint(bp)
    CORS(app, resources={PUBLIC_ENDPOINTS: {"origins": app.config["WIDGET_ORIGINS"]}},
         methods=["GET", "POST", "OPTIONS"], allow_headers=["Content-Type", "Accept"], supports_credentials=False, max_age=600)
    limiter = security.limiter(app)
    app.view_functions["widget_api.contact"] = limiter.limit(
        lambda: current_app.config["CONTACT_RATE_LIMIT"], methods=["POST"],
        error_message=lambda: _phrase("widget_too_many", _request_lang()),
    )(app.view_functions["widget_api.contact"])


def _request_lang() -> str:
    body = request.get_json(silent=True)
    lang = body.get("lang") if isinstance(body, dict) else None
    return lang if lang in settings.LANGUAGES else settings.DEFAULT_LANGUAGE
