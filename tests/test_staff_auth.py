"""Signing in to the staff workspace: passwords, CSRF, lockout, rate limit, idle timeout, roles,
and the command that creates staff users."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from sqlalchemy import select

import settings
from tests.conftest import create_staff, csrf_token, staff_login
from web.leads import db
from web.leads.models import Lead, StaffUser

FLASK = str(settings.ROOT / ".venv" / "app" / "bin" / "flask")


@pytest.fixture()
def client(staff_app, leads_db):
    create_staff(leads_db)
    return staff_app.test_client()


def test_pages_need_a_signed_in_user(client):
    response = client.get("/staff/leads")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    assert client.get("/staff/insights").status_code == 302


def test_sign_in_with_the_right_password_and_sign_out(client):
    response = staff_login(client)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/staff/leads")
    assert page.status_code == 200 and "Signed in as handlaggare@lulea.se" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/leads")})
    assert response.status_code == 302
    assert client.get("/staff/leads").status_code == 302


def test_the_password_is_stored_hashed(client, leads_db):
    with db.session_scope(leads_db) as s:
        stored = s.scalar(select(StaffUser.password_hash))
    assert "a long enough password" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_a_wrong_password_or_unknown_email_is_refused_with_the_same_message(client):
    for email, password in [("handlaggare@lulea.se", "wrong password!!"), ("nobody@lulea.se", "a long enough password")]:
        response = staff_login(client, email, password)
        assert response.status_code == 401
        assert "The email address or password is not correct." in response.get_data(as_text=True)
    assert client.get("/staff/leads").status_code == 302


def test_forms_without_a_valid_csrf_token_are_rejected(client, leads_db, make_lead):
    response = client.post("/staff/login", data={"email": "handlaggare@lulea.se", "password": "a long enough password"})
    assert response.status_code == 400 and "security token" in response.get_data(as_text=True)
    assert client.get("/staff/leads").status_code == 302  # not signed in
    staff_login(client)
    reference = make_lead()
    for token in (None, "forged-token", csrf_token(client, "/staff/leads") + "x"):
        data = {"status-status": "closed"} | ({"status-csrf_token": token} if token else {})
        assert client.post(f"/staff/leads/{reference}/status", data=data).status_code == 400
    assert client.post("/staff/logout").status_code == 400
    with db.session_scope(leads_db) as s:
        assert s.scalar(select(Lead.status).where(Lead.reference == reference)) == "new"
    assert client.get("/staff/leads").status_code == 200  # still signed in


def attempts(app, email: str, password: str, address: str, times: int = 1) -> list[tuple[int, str]]:
    """(status, what the page says) of `times` sign-ins from the client address `address`, each from a fresh browser."""
    out = []
    for _ in range(times):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        response = staff_login(client, email, password)
        said = re.search(r'<p class="error-summary" role="alert">([^<]*)</p>|<p>(Too many[^<]*)</p>', response.get_data(as_text=True))
        out.append((response.status_code, next(filter(None, said.groups())) if said else ""))
    return out


def test_failed_sign_ins_are_throttled_per_address_and_email_the_same_for_unknown_emails(staff_app, leads_db):
    """After 5 failures for one email from one address, that address waits for that email, whether or
    not an account has it, with the very same answers; the owner, from their own address, signs in."""
    create_staff(leads_db)
    failures = settings.STAFF_MAX_FAILED_LOGINS
    existing = attempts(staff_app, "handlaggare@lulea.se", "wrong password!!", "203.0.113.7", failures + 1)
    unknown = attempts(staff_app, "nobody@lulea.se", "wrong password!!", "203.0.113.7", failures + 1)
    assert existing == unknown  # nothing tells which accounts exist
    assert existing[:failures] == [(401, "The email address or password is not correct.")] * failures
    assert existing[failures][0] == 429 and "Too many sign-in attempts" in existing[failures][1]
    # the right password from the throttled address waits too ...
    assert attempts(staff_app, "Handlaggare@Lulea.se ", "a long enough password", "203.0.113.7")[0][0] == 429
    # ... but the account is not locked: its owner, elsewhere, signs in at once
    assert attempts(staff_app, "handlaggare@lulea.se", "a long enough password", "198.51.100.20")[0][0] == 302
    # and the throttled address may still try another email
    assert attempts(staff_app, "kollega@lulea.se", "wrong password!!", "203.0.113.7")[0][0] == 401
    with db.session_scope(leads_db) as s:  # nothing about failures is kept on the account
        assert s.scalar(select(StaffUser)).active


def test_a_successful_sign_in_does_not_count_as_a_failure(staff_app, leads_db):
    create_staff(leads_db)
    statuses = [a[0] for a in attempts(staff_app, "handlaggare@lulea.se", "a long enough password", "203.0.113.8",
                                       settings.STAFF_MAX_FAILED_LOGINS + 2)]
    assert statuses == [302] * (settings.STAFF_MAX_FAILED_LOGINS + 2)


def test_the_login_form_is_rate_limited_per_address(staff_app, leads_db):
    create_staff(leads_db)
    staff_app.config["STAFF_LOGIN_RATE_LIMIT"] = "3 per minute"
    client = staff_app.test_client()
    codes = [staff_login(client, "someone@lulea.se", "guess number one").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert "Too many sign-in attempts" in staff_login(client).get_data(as_text=True)


def test_idle_sessions_are_signed_out(client):
    staff_login(client)
    assert client.get("/staff/leads").status_code == 200
    with client.session_transaction() as session:
        session["staff_seen"] = time.time() - settings.STAFF_IDLE_MINUTES * 60 - 5
    response = client.get("/staff/leads")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    assert "without activity" in client.get("/staff/login").get_data(as_text=True)
    assert client.get("/staff/leads").status_code == 302


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replayed(app, cookie: str):
    """GET /staff/leads from another browser that has a copy of `cookie` (same address and user agent)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get("/staff/leads")


def refused(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_a_cookie_signed_with_the_old_public_development_key_is_refused(client):
    """Before, without MOVE_SECRET_KEY every install signed sessions with "dev-only-not-secret" from
    settings.py: anyone could sign a staff session. A perfect copy of a real session's contents,
    signed with that constant, gets nobody in now."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    staff_login(client)
    with client.session_transaction() as session:
        contents = dict(session)
    assert contents["_user_id"]
    forger = Flask("forger")
    forger.secret_key = "dev-only-not-secret"
    forged = SecureCookieSessionInterface().get_signing_serializer(forger).dumps(contents)
    assert refused(replayed(client.application, forged))
    assert not refused(replayed(client.application, session_cookie(client)))  # the real one works


def test_signing_out_ends_the_session_for_a_copied_cookie_too(client):
    staff_login(client)
    copied = session_cookie(client)
    assert replayed(client.application, copied).status_code == 200  # a copy is as good as the original ...
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/leads")})
    assert refused(replayed(client.application, copied))  # ... until its owner signs out
    assert refused(client.get("/staff/leads"))
    assert staff_login(client).status_code == 302 and client.get("/staff/leads").status_code == 200  # signing in again works


def test_a_new_password_ends_every_session_signed_in_with_the_old_one(client, staff_app):
    staff_login(client)
    copied = session_cookie(client)
    result = staff_app.test_cli_runner().invoke(args=["staff", "set-password", "handlaggare@lulea.se", "--password-stdin"],
                                                input="a brand new long password\n")
    assert result.exit_code == 0, result.output
    assert refused(replayed(staff_app, copied))
    assert refused(client.get("/staff/leads"))
    assert staff_login(client).status_code == 401  # the old password is gone
    assert staff_login(client, password="a brand new long password").status_code == 302


def test_a_session_ends_after_its_absolute_lifetime_however_active(client):
    staff_login(client)
    lifetime = settings.STAFF_SESSION_HOURS * 3600
    with client.session_transaction() as session:  # signed in almost that long ago, active a second ago
        session["staff_since"], session["staff_seen"] = time.time() - lifetime + 60, time.time() - 1
    assert client.get("/staff/leads").status_code == 200
    with client.session_transaction() as session:
        session["staff_since"], session["staff_seen"] = time.time() - lifetime - 5, time.time() - 1
    copied = session_cookie(client)
    assert refused(client.get("/staff/leads"))
    assert f"{settings.STAFF_SESSION_HOURS} hours after signing in" in client.get("/staff/login").get_data(as_text=True)
    assert refused(replayed(client.application, copied))


def test_the_migration_keeps_staff_accounts_and_their_passwords(tmp_path):
    """0002 adds the session version and drops the lockout columns of an existing database."""
    from alembic import command
    from sqlalchemy import create_engine, text
    from werkzeug.security import generate_password_hash

    from web import create_app
    from web.leads.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO staff_users (email, password_hash, role, active, created_at, failed_logins, locked_until) "
                          "VALUES ('gammal@lulea.se', :h, 'staff', 1, '2026-01-01 00:00:00', 3, NULL)"),
                     {"h": generate_password_hash("an old long password")})
    engine.dispose()
    upgrade(url)
    try:
        client = create_app({"DATABASE_URL": url, "NOTIFY_INTERVAL_S": 0}).test_client()
        assert staff_login(client, "gammal@lulea.se", "an old long password").status_code == 302
        assert client.get("/staff/leads").status_code == 200
        with db.session_scope(url) as s:
            assert s.scalar(select(StaffUser.session_version)) == 0
    finally:
        db.dispose(url)


def test_editors_see_insights_but_no_leads(staff_app, leads_db):
    create_staff(leads_db, "redaktor@lulea.se", "an editor's password", role="editor")
    client = staff_app.test_client()
    staff_login(client, "redaktor@lulea.se", "an editor's password")
    assert client.get("/staff/insights").status_code == 200
    assert client.get("/staff/leads").status_code == 403
    assert client.get("/staff/").headers["Location"].endswith("/staff/insights")


def test_a_disabled_account_loses_its_session(client, leads_db):
    staff_login(client)
    with db.session_scope(leads_db) as s:
        s.scalar(select(StaffUser)).active = False
    assert client.get("/staff/leads").status_code == 302


def test_redirect_after_login_stays_on_the_site(client):
    token = csrf_token(client)
    response = client.post("/staff/login?next=//evil.example/x", data={"email": "handlaggare@lulea.se", "password": "a long enough password",
                                                                       "csrf_token": token})
    assert response.headers["Location"] == "/staff/"


@pytest.mark.parametrize("email", ["", "x" * 5000, "' OR 1=1 --", "<script>alert(1)</script>", "a@b.c\x00\x1b", "ä@ö"])
def test_hostile_input_to_the_login_form_gets_a_clear_refusal(client, email):
    response = client.post("/staff/login", data={"email": email, "password": "p" * 300, "csrf_token": csrf_token(client)})
    text = response.get_data(as_text=True)
    assert response.status_code == 401 and "<script>alert" not in text
    assert "not correct" in text or "Enter your email address and password." in text


def run_flask(args: list[str], url: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOVE_DATABASE_URL": url, "PYTHONPATH": str(settings.ROOT)}
    return subprocess.run([FLASK, "--app", "web", *args], input=stdin, capture_output=True, text=True, env=env, cwd=settings.ROOT,
                          timeout=120)


def test_staff_create_command_reads_the_password_from_stdin(staff_app, leads_db):
    result = run_flask(["staff", "create", "Ny.Handlaggare@Lulea.se", "--password-stdin"], leads_db, "kanelbulle i Luleå 2026\n")
    assert result.returncode == 0, result.stderr
    assert "Created staff user ny.handlaggare@lulea.se" in result.stdout
    client = staff_app.test_client()
    assert staff_login(client, "ny.handlaggare@lulea.se", "kanelbulle i Luleå 2026").status_code == 302
    again = run_flask(["staff", "create", "ny.handlaggare@lulea.se", "--password-stdin"], leads_db, "another long password\n")
    assert again.returncode != 0 and "already exists" in again.stderr
    short = run_flask(["staff", "create", "kort@lulea.se", "--password-stdin"], leads_db, "short\n")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    bad = run_flask(["staff", "create", "not an email", "--password-stdin"], leads_db, "a long enough password\n")
    assert bad.returncode != 0 and "not a valid email address" in bad.stderr
    listed = run_flask(["staff", "list"], leads_db)
    assert listed.stdout.splitlines() == ["ny.handlaggare@lulea.se\tstaff\tactive"]
