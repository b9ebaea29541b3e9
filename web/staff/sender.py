"""Starts the web process's background threads: the new-lead email sender (web.leads.notify) and
the retention job (web.leads.retention).

Each starts on the first request rather than at import, so `flask` CLI commands never start one,
and not at all when its interval is 0."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask

import settings
from web.leads.notify import MailConfig, NotificationSender


def start_on_first_request(app: Flask, name: str, interval_key: str, make_thread: Callable[[], threading.Thread]) -> None:
    """Start `make_thread()` once per process on the first request, unless app.config[interval_key]
    is 0 or less; the thread is kept in app.extensions[name]."""
    app.extensions[name] = None
    lock = threading.Lock()

    @app.before_request
    def start_once() -> None:
        if app.extensions.get(name) is not None or app.config[interval_key] <= 0:
            return
        with lock:
            if app.extensions.get(name) is None:
                thread = make_thread()
                app.extensions[name] = thread
                thread.start()


def init_sender(app: Flask) -> None:
    start_on_first_request(app, "lead_sender", "NOTIFY_INTERVAL_S", lambda: NotificationSender(
        app.config["MAIL"] or MailConfig.from_settings(), app.config["DATABASE_URL"], app.config["NOTIFY_INTERVAL_S"]))


def init_retention(app: Flask) -> None:
    """The retention job's thread; its first run is one interval after it starts."""
    from web.leads.retention import RetentionScheduler

    start_on_first_request(app, "retention_scheduler", "RETENTION_INTERVAL_S", lambda: RetentionScheduler(
        app.config["DATABASE_URL"], app.config.get("TRACKER_DB") or settings.TRACKER_DB, app.config["RETENTION_INTERVAL_S"]))
