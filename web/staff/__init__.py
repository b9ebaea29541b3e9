"""The staff workspace under /staff: sign-in, the lead list and detail, export, erasure, insights.

Plain server-rendered HTML (English only for now), no JavaScript. Security: hashed passwords and
sessions via Flask-Login that sign-out and a new password end (web/staff/auth.py), CSRF tokens on
every POST (Flask-WTF), the login form rate-limited (Flask-Limiter) per client address and, for
failed attempts, per client address and email address together, sign-out after an idle period and
after an absolute session lifetime, and no-store / CSP headers on every page.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_limiter.util import get_remote_address
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
        "STAFF_SESSION_SECONDS": settings.STAFF_SESSION_HOURS * 3600,
        "STAFF_MAX_FAILED_LOGINS": settings.STAFF_MAX_FAILED_LOGINS,
        "STAFF_LOCKOUT": timedelta(minutes=settings.STAFF_LOCKOUT_MINUTES),
        "STAFF_LOGIN_RATE_LIMIT": settings.STAFF_LOGIN_RATE_LIMIT,
        "STAFF_PAGE_SIZE": 25,
        "CSV_DELIMITER": settings.CSV_DELIMITER,
        "RESPONSE_WORKING_DAYS": settings.RESPONSE_WORKING_DAYS,
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
    from web.staff import auth, cli, database, i18n, queue_views, sender, views  # noqa: F401 (views register routes on bp)

    database.init_database(app)
    i18n.init_i18n(app)
    csrf.init_app(app)
    login = LoginManager(app)
    login.login_view = "staff.login"
    login.login_message = lazy_gettext("Please sign in to continue.")
    login.session_protection = "strong"
    login.user_loader(auth.load_user)
    app.register_blueprint(bp)
    limiter = security.limiter(app)  # the app's shared limiter (counters in MOVE_RATE_LIMIT_STORAGE)
    view = limiter.limit(_failed_sign_in_limit, key_func=_address_and_email, scope="staff-login-account", methods=["POST"],
                         deduct_when=lambda response: response.status_code == 401)(app.view_functions["staff.login"])
    view = limiter.limit(lambda: current_app.config["STAFF_LOGIN_RATE_LIMIT"], key_func=get_remote_address, methods=["POST"])(view)
    app.view_functions["staff.login"] = view
    app.extensions["staff_limiter"] = limiter
    cli.register(app)
    sender.init_sender(app)
    sender.init_retention(app)


def _failed_sign_in_limit() -> str:
    """STAFF_MAX_FAILED_LOGINS failed sign-ins per STAFF_LOCKOUT, e.g. "5 per 15 minutes"."""
    cfg = current_app.config
    return f"{cfg['STAFF_MAX_FAILED_LOGINS']} per {max(1, int(cfg['STAFF_LOCKOUT'].total_seconds() // 60))} minutes"


def _address_and_email() -> str:
    """The counter of failed sign-ins: client address and the email address typed (as accounts are
    looked up, hashed), whether or not an account has it."""
    from web.staff.accounts import canonical_email

    typed = request.form.get("email") or ""
    email = canonical_email(typed) or typed.strip().casefold()
    return get_remote_address() + "/" + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]


def _signed_out(message: str):
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("staff.login"))


@bp.before_request
def session_limits_and_csrf():
    """Sign out after the idle period and after the absolute session lifetime; check the CSRF token of every POST."""
    if current_user.is_authenticated:
        cfg = current_app.config
        now = time.time()
        seen, since = session.get("staff_seen"), session.get("staff_since")
        if not isinstance(since, int | float) or now - since > cfg["STAFF_SESSION_SECONDS"]:
            hours = cfg["STAFF_SESSION_SECONDS"] / 3600
            return _signed_out(_("You were signed out %(hours)s hours after signing in. Please sign in again.", hours=f"{hours:g}"))
        if not isinstance(seen, int | float) or now - seen > cfg["STAFF_IDLE_SECONDS"]:
            return _signed_out(_("You were signed out after %(minutes)s minutes without activity. Please sign in again.",
                                 minutes=cfg["STAFF_IDLE_SECONDS"] // 60))
        session["staff_seen"] = now
    if request.method == "POST":
        csrf.protect()
    return None


@bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    return render_template("staff/error.html", title=_("Form expired"),
                           message=_("The form was not accepted because its security token was missing or had expired "
                                   "(this protects you against forged requests). Go back, reload the page and try again.")), 400


@bp.errorhandler(429)
def too_many(exc):
    return render_template("staff/error.html", title=_("Too many attempts"),
                           message=_("Too many sign-in attempts. Wait a while and try again.")), 429
