"""Signing in to the staff workspace: passwords, CSRF, lockout, rate limit, idle timeout, roles,
and the command that creates staff users."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

import settings
from tests.conftest import create_staff, csrf_token, staff_login
from web.leads import db
from web.leads.models import Lead, StaffUser, utcnow

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


def test_an_account_is_locked_after_repeated_failures_even_for_the_right_password(client, leads_db):
    for _ in range(settings.STAFF_MAX_FAILED_LOGINS - 1):
        assert "not correct" in staff_login(client, password="wrong password!!").get_data(as_text=True)
    locked = staff_login(client, password="wrong password!!")
    assert "locked" in locked.get_data(as_text=True)
    response = staff_login(client)  # the right password, but locked
    assert response.status_code == 401 and "locked" in response.get_data(as_text=True)
    assert client.get("/staff/leads").status_code == 302
    with db.session_scope(leads_db) as s:  # the lock runs out
        s.scalar(select(StaffUser)).locked_until = utcnow() - timedelta(seconds=1)
    assert staff_login(client).status_code == 302
    assert client.get("/staff/leads").status_code == 200


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
