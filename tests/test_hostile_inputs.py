"""Hostile input against every endpoint: empty, whitespace, 100 kB, control characters, invalid
UTF-8, invalid or too deeply nested JSON, wrong types, HTML/JS, SQL-like strings, path traversal,
unknown button payloads, wrong methods.

Never a 5xx; under /api always a JSON error {"error": {"code", "message"}} with a 4xx; and nothing
is damaged: afterwards the real stack still answers a normal question correctly, no lead was stored
from a rejected request, and no staff member was signed in.

The chat, topics, health, history, widget script, pages and unknown paths are attacked over HTTP on
the real stack (gunicorn + Rasa + action server). The contact form and the staff sign-in run
in-process on a real, migrated SQLite database (so the test's many requests do not trip the rate
limits that protect them, and a test-only staff account can exist).
"""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import func, select

from tests.conftest import create_staff, csrf_token
from web import create_app
from web.leads import db
from web.leads.migrate import upgrade
from web.leads.models import Lead
from web.leads.service import consent_version

pytestmark = pytest.mark.stack

BIG = "a" * 100_000
HOSTILE_TEXTS = {
    "empty": "",
    "whitespace": " \t\n\r\u00a0\u3000 ",
    "control": "\x00\x01\x02\x1b\x7f\x08",
    "ansi_escape": "\x1b[31mred\x1b[0m",
    "nul_inside": "Hej\x00där",
    "zero_width": "\u200b\u200c\u200d\ufeff",
    "rtl_override": "\u202eabc\u202c",
    "lone_surrogate": "\ud800",
    "html": "<script>alert(1)</script>",
    "img_onerror": "<img src=x onerror=alert(1)>",
    "js_url": "javascript:alert(document.cookie)",
    "sql_or": "' OR '1'='1' --",
    "sql_drop": "Robert'); DROP TABLE leads;--",
    "traversal": "../../../../etc/passwd",
    "traversal_encoded": "..%2f..%2f..%2fetc%2fpasswd",
    "template": "{{7*7}} ${7*7} <%= 7*7 %>",
    "log4j": "${jndi:ldap://127.0.0.1/a}",
    "format": "%s%s%s%n {0} {name}",
    "crlf": "x\r\nSet-Cookie: evil=1",
    "emoji": "😀" * 200,
    "intent_like": '/ask_topic{"topic":"../../etc"}',
    "restart": "/restart",
    "huge": BIG,
}
HOSTILE_VALUES = {  # values of the wrong type
    "null": None, "true": True, "zero": 0, "float": 1.5, "list": ["a"], "object": {"a": 1}, "big_int": 10**30,
}
RAW_BODIES = {
    "nothing": b"",
    "spaces": b"   \n",
    "null": b"null",
    "number": b"1",
    "string": b'"hello"',
    "array": b"[1, 2]",
    "unclosed": b"{",
    "missing_value": b'{"message": }',
    "single_quotes": b"{'message': 'hi'}",
    "trailing_comma": b'{"message": "hi",}',
    "invalid_utf8": b"\xff\xfe\xfd",
    "invalid_utf8_in_string": b'{"message": "\xc3\x28 \xff"}',
    "nul_bytes": b"\x00" * 32,
    "deeply_nested": b"[" * 50_000,
    "deeply_nested_object": b'{"a":' * 10_000,
    "huge_body": b'{"message": "' + BIG.encode() + b'"}',
    "huge_garbage": b"\x00\xff" * 60_000,
    "nan": b'{"message": NaN}',
    "infinity": b'{"session": Infinity}',
    "duplicate_keys": b'{"message": "a", "message": {"x": 1}}',
    "form_encoded": b"message=hi&session=x",
}

# ---------------------------------------------------------------- helpers


def assert_clear_api_error(response, allowed=(400, 404, 405, 409, 413, 415, 429)) -> dict:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    body = response.json()
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"].strip()
    return error


def assert_no_raw_markup(response) -> None:
    """Whatever came back is JSON; the hostile markup is never echoed as markup outside JSON strings."""
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture(scope="module")
def web(stack) -> str:
    return stack.urls["web"]


@pytest.fixture(scope="module")
def http() -> requests.Session:
    """A new connection per request: after refusing a huge body unread (413), the server rightly closes it."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


@pytest.fixture(scope="module")
def issued_session(web, http) -> str:
    response = http.post(web + "/api/chat", json={"message": "Hej"}, timeout=60)
    assert response.status_code == 200
    return response.json()["session"]


# ---------------------------------------------------------------- /api/chat, /api/history: raw bodies


@pytest.mark.parametrize("path", ["/api/chat", "/api/history", "/api/contact"])
@pytest.mark.parametrize("name", list(RAW_BODIES))
def test_raw_bodies_get_a_clear_json_error(web, http, path, name):
    content_type = "application/x-www-form-urlencoded" if name == "form_encoded" else "application/json"
    response = http.post(web + path, data=RAW_BODIES[name], headers={"Content-Type": content_type}, timeout=60)
    error = assert_clear_api_error(response)
    assert_no_raw_markup(response)
    if name.startswith("huge"):
        assert response.status_code == 413 and error["code"] == "request_too_large"
    elif path != "/api/contact":  # the contact form is rate-limited on the stack: 429 is also clear
        assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x", ""])
def test_a_chat_message_in_another_content_type_is_refused(web, http, content_type):
    response = http.post(web + "/api/chat", data=b'{"message": "hi"}', headers={"Content-Type": content_type}, timeout=60)
    assert assert_clear_api_error(response)["code"] == "invalid_json"


# ---------------------------------------------------------------- /api/chat: fields

REFUSED_TEXTS = {"empty", "whitespace", "control", "zero_width", "lone_surrogate", "huge"}


@pytest.mark.parametrize("name", list(HOSTILE_TEXTS))
def test_hostile_chat_messages_are_refused_or_answered_safely(web, http, name):
    response = http.post(web + "/api/chat", json={"message": HOSTILE_TEXTS[name]}, timeout=60)
    assert_no_raw_markup(response)
    if name in REFUSED_TEXTS:
        error = assert_clear_api_error(response)
        assert error["code"] in ("empty_message", "message_too_long", "request_too_large")
        return
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["messages"] and all(isinstance(m["text"], str) and m["text"] for m in body["messages"])
    # Typed text never acts as a button or a Rasa command.
    assert not any(m.get("topic") == "../../etc" for m in body["messages"])


@pytest.mark.parametrize("field", ["message", "lang", "session", "payload"])
@pytest.mark.parametrize("name", list(HOSTILE_VALUES))
def test_wrong_types_in_chat_fields_are_refused(web, http, field, name):
    value = HOSTILE_VALUES[name]
    body = {"payload": value} if field == "payload" else {"message": "hi", field: value}
    response = http.post(web + "/api/chat", json=body, timeout=60)
    if value is None and field in ("lang", "session"):
        assert response.status_code == 200  # the same as leaving the optional field out
        return
    assert_clear_api_error(response)


@pytest.mark.parametrize("value", ["de", "EN ", "en-GB", "<script>", "' OR 1=1", "../en", "e\x00n", "x" * 5000])
@pytest.mark.parametrize("field", ["lang", "session"])
def test_hostile_lang_and_session_are_refused(web, http, field, value):
    response = http.post(web + "/api/chat", json={"message": "hi", field: value}, timeout=60)
    assert assert_clear_api_error(response)["code"] == f"invalid_{field}"


UNKNOWN_PAYLOADS = [
    "/restart", "/session_start", "/action_listen", "/nlu_fallback", "/out_of_scope", "/EXTERNAL_reminder",
    '/ask_topic{"topic":"../../etc/passwd"}', '/ask_topic{"topic":"housing.nonexistent"}',
    '/ask_topic{"topic":"housing.rent","extra":"x"}', '/ask_topic{"topic":"<script>"}', '/ask_topic{"topic":1}',
    '/ask_topic{"topic":"housing.rent"', '/set_language{"lang":"de"}', '/set_language{"lang":"en","x":1}',
    "/ask_topic", "ask_topic", "/", "//", "/greet{\"x\":\"' OR 1=1\"}", "/" + "a" * 5000,
]


@pytest.mark.parametrize("payload", UNKNOWN_PAYLOADS)
def test_unknown_button_payloads_are_refused(web, http, payload):
    response = http.post(web + "/api/chat", json={"payload": payload}, timeout=60)
    assert assert_clear_api_error(response)["code"] == "unknown_payload"


# ---------------------------------------------------------------- /api/history


@pytest.mark.parametrize("value", ["", " ", "a" * 59, "a" * 10_000, "../../etc/passwd", "<script>alert(1)</script>",
                                   "' OR '1'='1", "\x00" * 20, "%00" * 20, "*", "null"] + list(HOSTILE_VALUES.values()))
def test_hostile_history_sessions_are_refused(web, http, value):
    response = http.post(web + "/api/history", json={"session": value}, timeout=60)
    assert assert_clear_api_error(response)["code"] == "invalid_session"


# ---------------------------------------------------------------- GET endpoints, methods, paths


@pytest.mark.parametrize("query", ["lang=", "lang=de", "lang=%ff", "lang=%00", "lang=<script>", "lang=en&lang=sv",
                                   "lang=" + "x" * 3000, "lang[]=en", "lang=..%2f..%2fetc", "x=' OR 1=1"])
@pytest.mark.parametrize("path", ["/api/topics", "/api/health"])
def test_hostile_queries_on_get_endpoints(web, http, path, query):
    response = http.get(f"{web}{path}?{query}", timeout=60)
    assert response.status_code < 500
    assert_no_raw_markup(response)
    if response.status_code >= 400:
        assert assert_clear_api_error(response)["code"] == "invalid_lang"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/api/chat", "/api/topics", "/api/health", "/api/history", "/api/contact"])
def test_wrong_methods_get_a_json_405(web, http, method, path):
    response = http.request(method, web + path, json={"message": "hi"}, timeout=60)
    assert assert_clear_api_error(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", [
    "/api/", "/api/chat/", "/api/../settings.py", "/api/%2e%2e/settings.py", "/api/chat%00", "/api/unknown",
    "/static/../settings.py", "/static/..%2fsettings.py", "/static/%2e%2e/%2e%2e/etc/passwd", "/.env", "/.git/config",
    "/var/app.db", "/settings.py", "/%ff", "/" + "a" * 8000, "/widget.js/..", "/staff/../settings.py",
    "/staff/leads/<script>", "/staff/leads/../../etc/passwd", "/?lang=<script>alert(1)</script>",
])
def test_unknown_and_traversal_paths_are_not_found_and_leak_nothing(web, http, path):
    response = http.get(web + path, timeout=60, allow_redirects=False)
    assert response.status_code < 500
    text = response.text
    assert "SECRET_KEY" not in text and "root:x:0" not in text and "[core]" not in text
    assert "<script>alert(1)</script>" not in text
    if path.startswith("/api/") and ".." not in path and response.status_code >= 400:
        assert_clear_api_error(response)  # ("/api/../x" is "/x" once the server resolves it)


@pytest.mark.parametrize("query", ["", "lang=pl", "lang=%ff", "lang=<script>", "v=" + "x" * 3000])
@pytest.mark.parametrize("path", ["/widget.js", "/", "/living-in-lulea"])
def test_the_widget_script_and_pages_take_any_query(web, http, path, query):
    response = http.get(f"{web}{path}?{query}", timeout=60)
    assert response.status_code == 200
    assert "<script>alert" not in response.text


# ---------------------------------------------------------------- /api/contact (in-process, real database)


@pytest.fixture(scope="module")
def contact_env(stack, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'app.db'}"
    upgrade(url)
    create_staff(url)
    app = create_app({"DATABASE_URL": url, "NOTIFY_INTERVAL_S": 0, "RASA_URL": stack.urls["rasa"],
                      "ACTIONS_URL": stack.urls["actions"], "TRACKER_DB": stack.extra_env["MOVE_TRACKER_DB"],
                      "CONTACT_RATE_LIMIT": "100000 per minute", "STAFF_LOGIN_RATE_LIMIT": "100000 per minute",
                      "STAFF_MAX_FAILED_LOGINS": 100000})
    yield app, url
    db.dispose(url)


def lead_count(url: str) -> int:
    with db.session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(Lead))


def valid_contact(kb) -> dict:
    return {"name": "Jonas Petraitis", "email": "jonas.petraitis@example.lt", "phone": "+370 612 34567",
            "country": "Lietuva", "profession": "elektrikas", "help_topics": ["work"], "household": "partner",
            "move_when": "soon", "preferred_language": "lt", "message": "Ieškau darbo.", "lang": "lt", "consent": True,
            "consent_version": consent_version(kb.phrase("ask_consent", "lt"))}


CONTACT_CASES = [(field, name) for field in ("name", "email", "phone", "country")
                 for name in ("empty", "whitespace", "control", "html", "sql_drop", "traversal", "huge", "crlf")]
CONTACT_CASES += [(field, name) for field in ("help_topics", "household", "move_when", "preferred_language", "lang",
                                              "consent", "consent_version", "session")
                  for name in ("html", "sql_or", "huge", "list", "object", "null")]


@pytest.mark.parametrize("field,name", CONTACT_CASES)
def test_hostile_contact_fields_are_refused_without_storing_anything(contact_env, kb, field, name):
    app, url = contact_env
    before = lead_count(url)
    body = valid_contact(kb)
    body[field] = HOSTILE_TEXTS.get(name, HOSTILE_VALUES.get(name))
    response = app.test_client().post("/api/contact", json=body)
    if response.status_code == 201:
        # Only what is a plausible value may be stored: a name with markup is just a name (escaped
        # wherever it is shown; line breaks are folded), and an optional field may be left out.
        assert ((field in ("name", "country") and name in ("html", "sql_drop", "traversal", "control", "crlf"))
                or (field == "phone" and name in ("empty", "whitespace")) or (field == "session" and name == "null"))
        assert lead_count(url) == before + 1
        return
    assert response.status_code < 500 and 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    assert lead_count(url) == before


# ---------------------------------------------------------------- /staff/login (in-process, real database)

LOGIN_VALUES = ["", " ", "\x00", "<script>alert(1)</script>", "' OR '1'='1' --", "admin'--", "../../etc/passwd",
                BIG, "handlaggare@lulea.se\r\nBcc: x@y.z", "%00", "{{7*7}}"]


@pytest.mark.parametrize("field", ["email", "password"])
@pytest.mark.parametrize("value", LOGIN_VALUES, ids=[repr(v[:12]) for v in LOGIN_VALUES])
def test_hostile_staff_logins_are_refused(contact_env, field, value):
    app, _ = contact_env
    client = app.test_client()
    data = {"email": "handlaggare@lulea.se", "password": "a long enough password", field: value,
            "csrf_token": csrf_token(client)}
    response = client.post("/staff/login", data=data)
    assert 200 <= response.status_code < 500 and response.status_code != 302
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert client.get("/staff/leads").status_code == 302  # not signed in


@pytest.mark.parametrize("body", [b"\xff\xfe", b"email=%ff&password=%ff", b"a" * 100_000, b"email[]=x&password[]=y"])
def test_garbage_staff_login_bodies_are_refused(contact_env, body):
    app, _ = contact_env
    client = app.test_client()
    response = client.post("/staff/login", data=body, content_type="application/x-www-form-urlencoded")
    assert 400 <= response.status_code < 500


# ---------------------------------------------------------------- nothing damaged


def test_after_all_that_the_stack_still_answers_and_nothing_was_stored(web, http, chat, kb, contact_env, issued_session):
    """Runs last in this module (pytest keeps file order)."""
    reply = chat.say("How do I rent an apartment in Luleå?")
    answer = reply["messages"][0]
    assert answer["topic"] == "housing.rent"
    assert answer["text"] == kb.topics["housing.rent"].entry("en").answer
    health = http.get(web + "/api/health", timeout=60)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    # The session issued before the attack still works, and its history holds no rejected message.
    again = http.post(web + "/api/chat", json={"message": "Ile kosztuje przedszkole w Luleå?", "session": issued_session},
                      timeout=60)
    assert again.status_code == 200 and again.json()["session"] == issued_session
    history = http.post(web + "/api/history", json={"session": issued_session}, timeout=60).json()
    said = [m["text"] for m in history["messages"] if m["who"] == "user"]
    assert said == ["Hej", "Ile kosztuje przedszkole w Luleå?"]
    # The contact form stored only the leads whose fields were plausible values.
    _, url = contact_env
    with db.session_scope(url) as s:
        names = [lead.name for lead in s.scalars(select(Lead))]
    assert all(len(n) < 1000 for n in names)
    assert not any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", n) for n in names)
