"""The demo page, which embeds the widget exactly as a host site would (one script tag), and the
widget script itself, served with its interface texts built in."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request

import settings
from web.leads.service import HELP_TOPICS, HOUSEHOLDS, MOVE_WHEN, consent_version

bp = Blueprint("pages", __name__)

# The knowledge topic the widget's privacy notice links to ("About Move to Luleå and privacy").
PRIVACY_TOPIC = "service.about"

# Every phrases.yml key the widget shows; all of them exist in all five languages.
WIDGET_PHRASES = (
    "widget_open widget_launcher widget_title widget_close widget_placeholder widget_send widget_language "
    "widget_retry widget_typing widget_privacy widget_you widget_assistant widget_new_tab widget_conversation "
    "widget_quick_replies widget_back widget_loading widget_contact_open widget_contact_title widget_contact_intro "
    "widget_field_name widget_field_email widget_field_phone widget_field_country widget_field_profession "
    "widget_field_message help_topic_work help_topic_education help_topic_housing help_topic_admin "
    "help_topic_life help_topic_other widget_error_required widget_error_choose widget_invalid_phone "
    "widget_form_invalid widget_sending widget_reference widget_choose "
    "start_over sources_label error_unavailable language_name browse_topics talk_to_person "
    "ask_topics ask_household household_alone household_partner household_children ask_move_when move_soon "
    "move_half_year move_later ask_language ask_consent consent_yes consent_required invalid_email lead_failed"
).split()


DEMO_PAGES = {"home": "/", "living": "/living-in-lulea"}


@bp.get("/")
@bp.get("/living-in-lulea", endpoint="demo_living", defaults={"page": "living"})
def demo(page: str = "home"):
    """Stand-ins for two pages of the municipality's site (to try the widget across navigation).
    ?lang=pl sets the script tag's data-lang, as a host site would."""
    lang = request.args.get("lang", "").lower()
    return render_template("demo.html", page=page, pages=DEMO_PAGES, lang=lang if lang in settings.LANGUAGES else None)


@lru_cache(maxsize=8)
def _file_digest(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def _asset_version(path: Path) -> str:
    """A short hash of a static file, for its URL: a changed stylesheet is never taken from a cache."""
    return _file_digest(path, path.stat().st_mtime_ns)


def widget_config() -> dict:
    """What widget.js needs besides its code: texts, the consent wording's version, limits, choices."""
    from web.knowledge_access import kb

    base = kb()
    phrases = base.phrases
    about = None
    if PRIVACY_TOPIC in base.topics:
        from actions.replies import topic_payload

        about = {"payload": topic_payload(PRIVACY_TOPIC), "title": {lang: base.title(PRIVACY_TOPIC, lang) for lang in settings.LANGUAGES}}
    return {
        "version": _asset_version(Path(current_app.static_folder) / "widget.css"),
        "languages": list(settings.LANGUAGES),
        "defaultLanguage": settings.DEFAULT_LANGUAGE,
        "strings": {key: phrases[key] for key in WIDGET_PHRASES if key in phrases},
        # The contact form sends back the version of the consent text it showed; /api/contact
        # refuses a request whose version is not the current wording's.
        "consent": {lang: consent_version(base.phrase("ask_consent", lang)) for lang in settings.LANGUAGES},
        "maxChars": current_app.config["MAX_MESSAGE_CHARS"],
        "helpTopics": list(HELP_TOPICS),
        "households": list(HOUSEHOLDS),
        "moveWhen": list(MOVE_WHEN),
        "privacyTopic": about,
    }


@bp.get("/widget.js")
def widget_js():
    """The widget script, with its interface texts (from knowledge/phrases.yml) built in."""
    config = json.dumps(widget_config(), ensure_ascii=False)
    # Inside a <script> context "</" could end the script early; U+2028/9 are line breaks to old parsers.
    config = config.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    source = (Path(current_app.static_folder) / "widget.js").read_text(encoding="utf-8")
    body = source.replace("var CONFIG = __WIDGET_CONFIG__;", f"var CONFIG = {config};", 1)
    response = Response(body, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
