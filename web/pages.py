"""The demo page, which embeds the widget exactly as a host site would (one script tag)."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def demo():
    return render_template("demo.html")


WIDGET_PHRASES = (
    "widget_open widget_title widget_close widget_placeholder widget_send widget_language widget_retry "
    "start_over sources_label error_unavailable language_name"
).split()


@bp.get("/widget.js")
def widget_js():
    """The widget script, with its interface texts (from knowledge/phrases.yml) built in."""
    from web.knowledge_access import kb

    phrases = kb().phrases
    strings = {key: phrases[key] for key in WIDGET_PHRASES if key in phrases}
    source = (Path(current_app.static_folder) / "widget.js").read_text(encoding="utf-8")
    body = source.replace("__UI_STRINGS__", json.dumps(strings, ensure_ascii=False).replace("</", "<\\/"), 1)
    response = Response(body, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
