"""Security of the web app (web/security.py, web/api.py, web/secret_key.py): response headers on
every kind of page (and none naming gunicorn), cookie flags, the secret key when none is configured,
server-issued session ids, rate limits with a 429 in the mover's language, and the size limits. Runs the real Flask app against a real, migrated SQLite database; the rate-limit test
with Redis storage runs against a real redis-server."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import string
import subprocess
import time
from pathlib import Path

import pytest
import requests
from itsdangerous import Signer

import settings
from scripts.stack import Stack
from tests.conftest import free_port, wait_until
from web import create_app
from web.api import issue_session, valid_session


def make_app(database: str, **config):
    """The web app; Rasa and the action server point at closed ports (the chat answers 503 there)."""
    return create_app({"TESTING": True, "RASA_URL": f"http://127.0.0.1:{free_port()}",
                       "ACTIONS_URL": f"http://127.0.0.1:{free_port()}", "DATABASE_URL": database,
                       "NOTIFY_INTERVAL_S": 0, "RASA_TIMEOUT_S": 2, **config})


def directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in csp.split(";") if part.strip()}


# ---------------------------------------------------------------- headers

@pytest.mark.parametrize("path", ["/", "/living-in-lulea", "/widget.js", "/static/widget.css", "/static/demo.css",
                                  "/api/topics", "/api/health", "/staff/login", "/no-such-page", "/api/no-such"])
def test_every_response_has_a_csp_without_inline_scripts_nosniff_and_a_permissions_policy(database, path):
    response = make_app(database).test_client().get(path)
    csp = directives(response.headers["Content-Security-Policy"])
    script_src = csp.get("script-src", csp.get("default-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # off unless MOVE_HSTS=1
    policy = dict(item.strip().split("=", 1) for item in response.headers["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert policy[feature] == "()", feature


def test_the_demo_page_works_under_its_csp(database):
    """No inline script or style left on the page: everything it loads comes from this origin."""
    client = make_app(database).test_client()
    response = client.get("/?lang=pl")
    html = response.get_data(as_text=True)
    assert "<style" not in html and " style=" not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        assert href.startswith("/static/") and client.get(href).status_code == 200
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"


def test_frame_ancestors_come_from_the_configuration(database):
    default = make_app(database).test_client().get("/")
    assert directives(default.headers["Content-Security-Policy"])["frame-ancestors"] == "'self'"
    assert default.headers["X-Frame-Options"] == "SAMEORIGIN"
    embedded = make_app(database, FRAME_ANCESTORS="'self' https://www.lulea.se").test_client().get("/")
    assert directives(embedded.headers["Content-Security-Policy"])["frame-ancestors"] == "'self' https://www.lulea.se"
    assert "X-Frame-Options" not in embedded.headers  # it cannot say "this other site", the CSP does
    # The staff workspace is never framed, whatever the public pages allow.
    staff = make_app(database, FRAME_ANCESTORS="https://www.lulea.se").test_client().get("/staff/login")
    assert directives(staff.headers["Content-Security-Policy"])["frame-ancestors"] == "'none'"
    assert staff.headers["X-Frame-Options"] == "DENY" and staff.headers["Cache-Control"] == "no-store"


def test_hsts_is_sent_when_configured(database):
    response = make_app(database, HSTS=True).test_client().get("/api/topics")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


# ---------------------------------------------------------------- cookies

def test_the_staff_session_cookie_is_httponly_samesite_and_secure_when_configured(database):
    plain = make_app(database).test_client().get("/staff/login")
    cookie = plain.headers["Set-Cookie"] if "session=" in plain.headers.get("Set-Cookie", "") else \
        next(v for k, v in plain.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = make_app(database, SESSION_COOKIE_SECURE=True).test_client().get("/staff/login")
    cookies = [v for k, v in secure.headers.items() if k == "Set-Cookie" and v.startswith("session=")]
    assert cookies and all("Secure" in c and "HttpOnly" in c and "SameSite=Lax" in c for c in cookies)


@pytest.mark.parametrize("path", ["/", "/living-in-lulea", "/widget.js", "/api/topics"])
def test_public_pages_and_the_widget_set_no_cookie(database, path):
    response = make_app(database).test_client().get(path)
    assert "Set-Cookie" not in response.headers


def test_the_staff_login_needs_a_csrf_token(database):
    response = make_app(database).test_client().post("/staff/login", data={"email": "a@b.se", "password": "x"},
                                                      headers={"Accept-Language": "en"})  # the staff pages' second language
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


# ---------------------------------------------------------------- session ids

def test_session_ids_are_issued_and_signed_by_the_server(database):
    app = make_app(database)
    client = app.test_client()
    issued = client.post("/api/chat", json={"message": "Hej"}).get_json()["session"]  # 503 (no Rasa), with the id
    with app.app_context():
        assert valid_session(issued) == issued
        assert issue_session() != issue_session()
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", issued)  # the shape widget.js stores
    tampered = issued[:30] + ("A" if issued[30] != "A" else "B") + issued[31:]
    alphabet = string.ascii_letters + string.digits + "-_"
    with app.app_context():  # every other last character, including those that decode to the same bytes
        assert [valid_session(issued[:-1] + c) for c in alphabet if c != issued[-1]] == [None] * 63
    made_up = "a" * 59
    other_key = make_app(database, SECRET_KEY="another-secret").test_client()
    foreign = other_key.post("/api/chat", json={"message": "Hej"}).get_json()["session"]
    for session in (tampered, made_up, foreign, issued[:16], issued + "x"):
        for path, body in (("/api/chat", {"message": "Hej", "session": session}), ("/api/history", {"session": session})):
            response = client.post(path, json=body)
            assert response.status_code == 400, (path, session)
            assert response.get_json()["error"]["code"] == "invalid_session"
    assert client.post("/api/history", json={"session": issued}).status_code == 200


OLD_PUBLIC_KEY = "dev-only-not-secret"  # the default in settings.py before: anyone could read it


def test_without_move_secret_key_a_random_key_is_made_once_and_kept_private(database, tmp_path, caplog):
    key_file = tmp_path / "var" / "secret_key"
    with caplog.at_level(logging.WARNING, logger="web.secret_key"):
        first = make_app(database, SECRET_KEY="", SECRET_KEY_FILE=key_file)
    notices = [r.getMessage() for r in caplog.records if r.name == "web.secret_key"]
    assert len(notices) == 1 and "\n" not in notices[0] and str(key_file) in notices[0] and "MOVE_SECRET_KEY" in notices[0]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32 and first.secret_key != OLD_PUBLIC_KEY and first.secret_key in key_file.read_text()
    caplog.clear()
    restarted = make_app(database, SECRET_KEY="", SECRET_KEY_FILE=key_file)  # the same file is used again, silently
    assert restarted.secret_key == first.secret_key and not [r for r in caplog.records if r.name == "web.secret_key"]
    with first.app_context():
        issued = issue_session()
    assert restarted.test_client().post("/api/history", json={"session": issued}).status_code == 200  # survives a restart
    elsewhere = make_app(database, SECRET_KEY="", SECRET_KEY_FILE=tmp_path / "other" / "secret_key")
    assert elsewhere.secret_key != first.secret_key  # random, not a constant
    key_file.chmod(0o644)  # a key file others may read is made private again
    make_app(database, SECRET_KEY="", SECRET_KEY_FILE=key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_chat_session_id_signed_with_the_old_public_key_is_refused(database):
    client = make_app(database).test_client()  # MOVE_SECRET_KEY unset in tests: the key file's key
    random_part = secrets.token_urlsafe(12)
    signer = Signer(OLD_PUBLIC_KEY, salt="move.chat-session", digest_method=hashlib.sha256)
    forged = random_part + signer.get_signature(random_part).decode("ascii")
    for path, body in (("/api/history", {"session": forged}), ("/api/chat", {"message": "Hej", "session": forged})):
        response = client.post(path, json=body)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_session", path


def test_the_production_profile_makes_up_no_key(database, tmp_path):
    with pytest.raises(RuntimeError, match="MOVE_SECRET_KEY"):
        make_app(database, SECRET_KEY="", PROFILE="production", SECRET_KEY_FILE=tmp_path / "secret_key")
    assert not (tmp_path / "secret_key").exists()


def test_gunicorn_does_not_name_itself(database, tmp_path):
    """The web app as scripts/stack.py runs it (its gunicorn command): no "Server: gunicorn"."""
    port = free_port()
    command = Stack(web_port=port, rasa_port=free_port(), actions_port=free_port()).commands(Path("unused-model"))["web"]
    env = {**os.environ, "PYTHONPATH": str(settings.ROOT), "MOVE_DATABASE_URL": database, "MOVE_NOTIFY_INTERVAL_S": "0",
           "MOVE_RETENTION_INTERVAL_MINUTES": "0", "MOVE_RASA_URL": f"http://127.0.0.1:{free_port()}"}
    with open(tmp_path / "web.log", "wb") as log:
        server = subprocess.Popen(command, cwd=settings.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def answered():
            try:
                return requests.get(f"http://127.0.0.1:{port}/api/topics", timeout=10)
            except (requests.ConnectionError, requests.Timeout):  # still starting
                assert server.poll() is None, (tmp_path / "web.log").read_text()
                return None
        response = wait_until(answered, "gunicorn to answer", timeout=120)
        assert response.status_code == 200
        assert "gunicorn" not in response.headers.get("Server", "").lower()
        assert "camera=()" in response.headers["Permissions-Policy"]
        page = requests.get(f"http://127.0.0.1:{port}/staff/login", timeout=5)
        assert "gunicorn" not in page.headers.get("Server", "").lower() and "gunicorn" not in page.text.lower()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


# ---------------------------------------------------------------- rate limits

@pytest.mark.parametrize("lang", ["en", "sv", "pl", "lt", "lv"])
def test_the_chat_is_rate_limited_per_address_with_a_message_in_the_movers_language(database, kb, lang):
    client = make_app(database, CHAT_RATE_LIMIT_IP="3 per minute", CHAT_RATE_LIMIT_SESSION="off").test_client()
    statuses = [client.post("/api/chat", json={"message": "Hej", "lang": lang}).status_code for _ in range(3)]
    assert statuses == [503] * 3  # accepted (the backend is down in this test)
    refused = client.post("/api/chat", json={"message": "Hej", "lang": lang})
    assert refused.status_code == 429
    assert refused.get_json()["error"] == {"code": "too_many_requests", "message": kb.phrase("chat_too_many", lang)}
    assert int(refused.headers["Retry-After"]) > 0
    # Another address is not affected.
    other = client.post("/api/chat", json={"message": "Hej", "lang": lang}, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert other.status_code == 503


def test_the_chat_is_rate_limited_per_session(database, kb):
    client = make_app(database, CHAT_RATE_LIMIT_IP="off", CHAT_RATE_LIMIT_SESSION="2 per minute").test_client()
    session = client.post("/api/chat", json={"message": "Hej"}).get_json()["session"]
    assert client.post("/api/chat", json={"message": "Hej", "session": session}).status_code == 503
    assert client.post("/api/chat", json={"message": "Hej", "session": session}).status_code == 503
    refused = client.post("/api/chat", json={"message": "Cześć", "session": session, "lang": "pl"})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["message"] == kb.phrase("chat_too_many", "pl")
    # A new conversation (a new id from the server) is not held back by the old one.
    assert client.post("/api/chat", json={"message": "Hej"}).status_code == 503


# The staff login's limit (same shared limiter) is tested in tests/test_staff_auth.py.


@pytest.fixture()
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_rate_limit_counters_in_redis_are_shared_between_processes(database, redis_url):
    """Two app instances (two gunicorn workers) with Redis storage count together."""
    config = {"RATELIMIT_STORAGE_URI": redis_url, "CHAT_RATE_LIMIT_IP": "2 per minute", "CHAT_RATE_LIMIT_SESSION": "off"}
    first, second = make_app(database, **config).test_client(), make_app(database, **config).test_client()
    assert first.post("/api/chat", json={"message": "Hej"}).status_code == 503
    assert second.post("/api/chat", json={"message": "Hej"}).status_code == 503
    assert first.post("/api/chat", json={"message": "Hej"}).status_code == 429
    assert second.post("/api/chat", json={"message": "Hej"}).status_code == 429


# ---------------------------------------------------------------- size limits

def test_a_too_large_request_and_a_too_long_message_get_clear_errors(database, kb):
    client = make_app(database).test_client()
    huge = client.post("/api/chat", data=b'{"message": "' + b"a" * 100_000 + b'"}', content_type="application/json")
    assert huge.status_code == 413
    assert huge.get_json()["error"] == {"code": "request_too_large", "message": "The request is too large: at most 64 kB are accepted."}
    long = client.post("/api/chat", json={"message": "a" * 1001, "lang": "lt"})
    assert long.status_code == 413
    assert long.get_json()["error"] == {"code": "message_too_long", "message": kb.phrase("error_too_long", "lt", max_chars=1000)}


# ---------------------------------------------------------------- Rasa behind the web app


@pytest.mark.stack
def test_rasas_http_api_is_off_and_only_the_rest_webhook_answers(stack, chat):
    """Rasa runs without --enable-api: no model upload, parse, tracker or status endpoints exist."""
    import requests

    session = chat.say("Hej")["session"]
    rasa = stack.urls["rasa"]
    probes = [("GET", "/status"), ("POST", "/model/parse"), ("PUT", "/model"), ("POST", "/model/train"),
              ("GET", f"/conversations/{session}/tracker"), ("POST", f"/conversations/{session}/messages"),
              ("GET", "/domain")]
    for method, path in probes:
        response = requests.request(method, rasa + path, json={"text": "hi", "model_file": "/etc/passwd"}, timeout=30)
        assert response.status_code in (404, 405), (method, path, response.status_code)
    assert requests.post(rasa + "/webhooks/rest/webhook", json={"sender": session, "message": "hi"}, timeout=60).status_code == 200
