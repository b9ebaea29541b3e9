"""Sign-in and sign-out for staff (Flask-Login sessions, Werkzeug password hashes)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
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

    def get_id(self) -> str:
        return str(self.id)

    @property
    def can_see_leads(self) -> bool:
        return self.role == "staff"


def load_user(user_id: str) -> StaffPrincipal | None:
    if not user_id.isdigit():
        return None
    user = dbs().get(StaffUser, int(user_id))
    if user is None or not user.active:
        return None
    return StaffPrincipal(user.id, user.email, user.role)


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
            result = accounts.authenticate(dbs(), form.email.data, form.password.data, current_app.config["STAFF_MAX_FAILED_LOGINS"],
                                           current_app.config["STAFF_LOCKOUT"])
            dbs().commit()
            if result.user is not None:
                session.clear()
                login_user(StaffPrincipal(result.user.id, result.user.email, result.user.role))
                session["staff_seen"] = time.time()
                return redirect(_safe_next(request.args.get("next")))
            minutes = int(current_app.config["STAFF_LOCKOUT"].total_seconds() // 60)
            error = (f"Too many failed attempts: this account is locked for {minutes} minutes." if result.locked
                     else "The email address or password is not correct.")
        else:
            error = "Enter your email address and password."
        status = 401
    return render_template("staff/login.html", form=form, error=error, title="Sign in"), status


@bp.post("/logout")
def logout():
    LogoutForm()  # the CSRF token was checked in before_request
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))
