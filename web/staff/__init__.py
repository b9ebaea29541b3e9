"""The staff workspace under /staff: sign-in, the lead list and detail, export, erasure, insights.

Plain server-rendered HTML (English only for now), no JavaScript. Security: hashed passwords and
sessions via Flask-Login, CSRF tokens on every POST (Flask-WTF), the login form rate-limited per
address (Flask-Limiter) and accounts locked after repeated failures, sign-out after an idle
period, and no-store / CSP headers on every page.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

import settings
from web import security

bp = Blueprint("staff", __name__, url_prefix="/staff")
csrf = CSRFProtect()

CSP = security.STAFF_CSP  # sent with every /staff response by web/security.py (with no-store, DENY framing)


def defaults() -> dict:
    return {
        "DATABASE_URL": settings.DATABASE_URL,
        "STAFF_IDLE_SECONDS": settings.STAFF_IDLE_MINUTES * 60,
        "STAFF_MAX_FAILED_LOGINS": settings.STAFF_MAX_FAILED_LOGINS,
        "STAFF_LOCKOUT": timedelta(minutes=settings.STAFF_LOCKOUT_MINUTES),
        "STAFF_LOGIN_RATE_LIMIT": settings.STAFF_LOGIN_RATE_LIMIT,
        "STAFF_PAGE_SIZE": 25,
        "CSV_DELIMITER": settings.CSV_DELIMITER,
        "NOTIFY_INTERVAL_S": settings.NOTIFY_INTERVAL_S,
        "RETENTION_INTERVAL_S": settings.RETENTION_INTERVAL_MINUTES * 60,  # 0: no retention thread
        "MAIL": None,  # a web.leads.notify.MailConfig; None = from settings
        "WTF_CSRF_CHECK_DEFAULT": False,  # only the staff pages use forms; /api is JSON without cookies
    }


def init_staff(app: Flask) -> None:
    """Register the workspace, its security machinery, the CLI commands and the notification sender."""
    for key, value in defaults().items():
        app.config.setdefault(key, value)
    # Flask has its own defaults for these (no SameSite, not HTTPS-only): tighten them.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("SESSION_COOKIE_SECURE") or settings.SESSION_COOKIE_SECURE)
    from web.staff import auth, cli, database, sender, views  # noqa: F401 (views register routes on bp)

    database.init_database(app)
    csrf.init_app(app)
    login = LoginManager(app)
    login.login_view = "staff.login"
    login.login_message = "Please sign in to continue."
    login.session_protection = "strong"
    login.user_loader(auth.load_user)
    app.register_blueprint(bp)
    limiter = security.limiter(app)  # the app's shared limiter (counters in MOVE_RATE_LIMIT_STORAGE)
    app.view_functions["staff.login"] = limiter.limit(lambda: current_app.config["STAFF_LOGIN_RATE_LIMIT"], methods=["POST"])(
        app.view_functions["staff.login"])
    app.extensions["staff_limiter"] = limiter
    cli.register(app)
    sender.init_sender(app)
    sender.init_retention(app)


@bp.before_request
def idle_timeout_and_csrf():
    """Sign out after the idle period; check the CSRF token of every POST."""
    if current_user.is_authenticated:
        now = time.time()
        seen = session.get("staff_seen", now)
        if not isinstance(seen, int | float) or now - seen > current_app.config["STAFF_IDLE_SECONDS"]:
            logout_user()
            session.clear()
            flash(f"You were signed out after {current_app.config['STAFF_IDLE_SECONDS'] // 60} minutes without activity. "
                  "Please sign in again.", "info")
            return redirect(url_for("staff.login"))
        session["staff_seen"] = now
    if request.method == "POST":
        csrf.protect()
    return None


@bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    return render_template("staff/error.html", title="Form expired",
                           message="The form was not accepted because its security token was missing or had expired "
                                   "(this protects you against forged requests). Go back, reload the page and try again."), 400


@bp.errorhandler(429)
def too_many(exc):
    return render_template("staff/error.html", title="Too many attempts",
                           message="Too many sign-in attempts from your address. Wait a minute and try again."), 429
