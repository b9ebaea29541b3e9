"""Starts the new-lead email sender thread in the web process (web.leads.notify).

Started on the first request rather than at import, so `flask` CLI commands never start one."""

from __future__ import annotations

import threading

from flask import Flask

from web.leads.notify import MailConfig, NotificationSender

_lock = threading.Lock()


def init_sender(app: Flask) -> None:
    app.extensions["lead_sender"] = None

    @app.before_request
    def start_sender_once() -> None:
        if app.extensions.get("lead_sender") is not None or app.config["NOTIFY_INTERVAL_S"] <= 0:
            return
        with _lock:
            if app.extensions.get("lead_sender") is None:
                thread = NotificationSender(app.config["MAIL"] or MailConfig.from_settings(), app.config["DATABASE_URL"],
                                            app.config["NOTIFY_INTERVAL_S"])
                app.extensions["lead_sender"] = thread
                thread.start()
