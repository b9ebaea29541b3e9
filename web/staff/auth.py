"""Sign-in and sign-out for staff (Flask-Login sessions, Werkzeug password hashes).

The session (a cookie signed with the app's secret key) holds the user's id and session version,
"7:3" (Flask-Login's alternative-id pattern: get_id() is what the session keeps, load_user checks it
on every request). Signing out and a new password raise the version in the database, so every
session signed in before, a copied cookie included, is refused from then on. A session also ends
after STAFF_IDLE_MINUTES without a request and STAFF_SESSION_HOURS after signing in
(web/staff/__init__.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from web.leads.models import StaffUser
from web.staff import accounts, bp
from web.staff.database import dbs
from web.staff.forms import LoginForm, LogoutForm


@dataclass
class StaffPrincipal(UserMixin):
    """The signed-in staff member for this request (loaded fresh, so a disabled account is out at once)."""

    id: int
    email: str
    role: str
    session_version: int
    language: str = "sv"

    @classmethod
    def of(cls, user: StaffUser) -> StaffPrincipal:
        return cls(user.id, user.email, user.role, user.session_version, user.language)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def can_see_leads(self) -> bool:
        return self.role == "staff"


def load_user(session_id: str) -> StaffPrincipal | None:
    """The signed-in user for the session's "id:version", if the account is active and the version current."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = dbs().get(StaffUser, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return StaffPrincipal.of(user)


def staff_required(view):
    """Signed in with the staff role (editors see the insights page only)."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.can_see_leads:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/staff/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("staff.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    error = None
    status = 200
    if request.method == "POST":
        if form.validate():
            user = accounts.authenticate(dbs(), form.email.data, form.password.data)
            dbs().commit()
            if user is not None:
                session.clear()
                login_user(StaffPrincipal.of(user))
                session["staff_seen"] = session["staff_since"] = time.time()
                return redirect(_safe_next(request.args.get("next")))
            error = _("The email address or password is not correct.")
        else:
            error = _("Enter your email address and password.")
        status = 401
    return render_template("staff/login.html", form=form, error=error, title=_("Sign in")), status


@bp.post("/logout")
def logout():
    LogoutForm()  # the CSRF token was checked in before_request
    if current_user.is_authenticated:  # ends this session and any copy of its cookie
        user = dbs().get(StaffUser, current_user.id)
        if user is not None:
            accounts.end_sessions(user)
            dbs().commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("staff.login"))
