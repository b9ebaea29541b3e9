"""The public web app: the embeddable chat widget, its chat API and the demo page.

Rasa and the action server are never exposed: /api/chat is the only way in, and it talks to
Rasa over loopback.
"""

from __future__ import annotations

import logging

from flask import Flask

import settings


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=settings.SECRET_KEY,  # "" (not set): made once and kept in SECRET_KEY_FILE
        SECRET_KEY_FILE=settings.SECRET_KEY_FILE,
        PROFILE=settings.PROFILE,
        RASA_URL=settings.RASA_URL,
        ACTIONS_URL=settings.ACTIONS_URL,
        RASA_TIMEOUT_S=settings.RASA_TIMEOUT_S,
        MAX_MESSAGE_CHARS=settings.MAX_MESSAGE_CHARS,
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not app.config["SECRET_KEY"]:
        if app.config["PROFILE"] == "production":  # every instance needs the same key: none is made up
            raise RuntimeError("the production profile needs MOVE_SECRET_KEY (a long random value, the same on every web instance)")
        from web import secret_key

        app.config["SECRET_KEY"] = secret_key.load_or_create(app.config["SECRET_KEY_FILE"])

    from web import api, errors, pages, security
    from web.knowledge_access import init_knowledge

    init_knowledge(app)
    errors.register(app)
    security.init_security(app)  # headers on every response, the one rate limiter, proxy fix
    api.init_app(app)  # /api/chat (rate-limited), /api/topics, /api/health
    app.register_blueprint(pages.bp)

    from web.staff import init_staff

    init_staff(app)  # /staff workspace, `flask staff|leads` commands, new-lead email sender thread

    from web import widget_api

    widget_api.register(app)  # /api/history, /api/contact, CORS for the widget's endpoints
    return app
