"""Staff accounts: creation, password hashing (Werkzeug's scrypt) and sign-in with lockout.

An account is locked for STAFF_LOCKOUT_MINUTES after STAFF_MAX_FAILED_LOGINS wrong passwords in a
row; per-address rate limiting of the login form (Flask-Limiter) sits in front of this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from web.leads.models import ROLES, StaffUser, utcnow
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


def create_user(session: Session, email: str, password: str, role: str = "staff") -> StaffUser:
    address = canonical_email(email)
    if address is None:
        raise AccountError(f"{email!r} is not a valid email address")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    check_new_password(password)
    if session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == address)):
        raise AccountError(f"a staff user {address} already exists")
    user = StaffUser(email=address, password_hash=generate_password_hash(password), role=role, active=True, created_at=utcnow(),
                     failed_logins=0)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, email: str, password: str) -> StaffUser:
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"no staff user {email!r}")
    check_new_password(password)
    user.password_hash = generate_password_hash(password)
    user.failed_logins, user.locked_until = 0, None
    return user


def find_user(session: Session, email: str) -> StaffUser | None:
    address = canonical_email(email)
    return session.scalar(select(StaffUser).where(StaffUser.email == address)) if address else None


@dataclass
class SignIn:
    user: StaffUser | None
    locked: bool = False


def authenticate(session: Session, email: str, password: str, max_failures: int, lockout: timedelta) -> SignIn:
    """Check a sign-in; count failures and lock the account after max_failures in a row."""
    now = utcnow()
    user = find_user(session, email)
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return SignIn(None)
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(None, locked=True)
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
            return SignIn(None, locked=True)
        return SignIn(None)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return SignIn(user)
