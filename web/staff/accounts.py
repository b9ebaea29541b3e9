"""Staff accounts: creation, password hashing (Werkzeug's scrypt), sign-in, and ending sessions.

Failed sign-ins are not counted here: the login form's rate limits (Flask-Limiter, web/staff/__init__.py)
count them per client address and per client address and email address together, the same whether
an account exists or not, so nobody can find out which accounts exist or lock someone else out.
A wrong email costs as much time as a wrong password."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from web.leads.models import ROLES, STAFF_LANGUAGES, StaffUser, utcnow
from web.leads.validation import normalise_email

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256
# Checked against when the email is unknown, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password, only for timing")


class AccountError(ValueError):
    pass


def canonical_email(text: str) -> str | None:
    email = normalise_email(text or "")
    return email.casefold() if email else None


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")


def create_user(session: Session, email: str, password: str, role: str = "staff", language: str = "sv") -> StaffUser:
    address = canonical_email(email)
    if address is None:
        raise AccountError(f"{email!r} is not a valid email address")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if language not in STAFF_LANGUAGES:
        raise AccountError(f"the language must be one of {', '.join(STAFF_LANGUAGES)}")
    check_new_password(password)
    if session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == address)):
        raise AccountError(f"a staff user {address} already exists")
    user = StaffUser(email=address, password_hash=generate_password_hash(password), role=role, active=True, created_at=utcnow(),
                     session_version=0, language=language)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, email: str, password: str) -> StaffUser:
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"no staff user {email!r}")
    check_new_password(password)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)  # whoever knew the old password is signed out
    return user


def end_sessions(user: StaffUser) -> None:
    """End every session of `user` signed in so far (web.staff.auth checks the version on each request)."""
    user.session_version = StaffUser.session_version + 1  # in SQL: two at once both count


def find_user(session: Session, email: str) -> StaffUser | None:
    address = canonical_email(email)
    return session.scalar(select(StaffUser).where(StaffUser.email == address)) if address else None


def authenticate(session: Session, email: str, password: str) -> StaffUser | None:
    """The active user with this email and password, else None (as slow for an unknown email)."""
    user = find_user(session, email)
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user
