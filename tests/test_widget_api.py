"""The widget's server side: the fallback contact form (POST /api/contact), the conversation after a
reload (POST /api/history), CORS for embedding on other sites, and the /widget.js route.

The contact form runs against a real, migrated SQLite database; the history against the real stack's
Rasa tracker store."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from sqlalchemy import func, select

from tests.conftest import free_port
from web import create_app
from web.api import issue_session
from web.leads import db
from web.leads.models import Lead
from web.leads.service import consent_version


def make_app(database: str, **config):
    return create_app({"TESTING": True, "RASA_URL": f"http://127.0.0.1:{free_port()}", "ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
                       "DATABASE_URL": database, "NOTIFY_INTERVAL_S": 0, "CONTACT_RATE_LIMIT": "1000 per minute", **config})


@pytest.fixture()
def client(database, tmp_path):
    return make_app(database, TRACKER_DB=str(tmp_path / "no-tracker.db")).test_client()


def lead_count(database: str) -> int:
    with db.session_scope(database) as s:
        return s.scalar(select(func.count()).select_from(Lead))


def valid(kb, lang: str = "pl", **changes) -> dict:
    body = {
        "name": "Jonas Petraitis", "email": "jonas.petraitis@example.lt", "phone": "+370 612 34567",
        "country": "Lietuva", "profession": "elektrikas", "help_topics": ["work", "housing"],
        "household": "partner", "move_when": "soon", "preferred_language": "lt",
        "message": "Ieškau darbo.", "lang": lang, "consent": True,
        "consent_version": consent_version(kb.phrase("ask_consent", lang)),
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


# ---------------------------------------------------------------- contact form: success

def test_a_valid_contact_request_is_stored_as_a_lead_with_its_consent(client, database, kb):
    response = client.post("/api/contact", json=valid(kb, lang="lt"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert re.fullmatch(r"ML-[0-9A-HJKMNP-TV-Z]{4}", body["reference"])
    assert body["message"] == kb.phrase("lead_sent", "lt", name="Jonas Petraitis", reference=body["reference"])
    with db.session_scope(database) as s:
        lead = s.scalars(select(Lead)).one()
        assert (lead.reference, lead.source, lead.chat_language, lead.preferred_language) == (body["reference"], "contact_form", "lt", "lt")
        assert (lead.email, lead.phone, lead.country, lead.household, lead.move_when) == (
            "jonas.petraitis@example.lt", "+37061234567", "LT", "partner", "soon")
        assert [t.topic for t in lead.topics] == ["housing", "work"]
        assert lead.consent.text == kb.phrase("ask_consent", "lt")
        assert lead.consent.version == consent_version(lead.consent.text) and lead.consent.lang == "lt"
        assert lead.transcript is None and lead.session_id is None


def test_optional_fields_may_be_left_out(client, database, kb):
    response = client.post("/api/contact", json=valid(kb, phone=None, profession=..., message=""))
    assert response.status_code == 201, response.get_json()
    with db.session_scope(database) as s:
        lead = s.scalars(select(Lead)).one()
        assert (lead.phone, lead.profession, lead.message) == (None, "", None)


def test_hostile_text_is_stored_as_plain_text(client, database, kb):
    name = "<script>alert(1)</script>'; DROP TABLE leads; --"
    response = client.post("/api/contact", json=valid(kb, name=name, message="<img src=x onerror=alert(1)>\nRobert'); --"))
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    with db.session_scope(database) as s:
        lead = s.scalars(select(Lead)).one()
        assert lead.name == name
        assert lead.message == "<img src=x onerror=alert(1)>\nRobert'); --"
    assert lead_count(database) == 1  # the table is still there


# ---------------------------------------------------------------- contact form: bad input

TOO_LONG = "x" * 6000

BAD = [
    # (changes, status, code, field, phrase key or None)
    ({"name": ""}, 400, "missing_field", "name", "widget_error_required"),
    ({"name": "   \t"}, 400, "missing_field", "name", "widget_error_required"),
    ({"name": "\x00\x01\u200b"}, 400, "invalid_field", "name", "widget_error_required"),
    ({"name": ...}, 400, "missing_field", "name", "widget_error_required"),
    ({"name": 42}, 400, "invalid_field", "name", "widget_form_invalid"),
    ({"name": ["a"]}, 400, "invalid_field", "name", "widget_form_invalid"),
    ({"name": TOO_LONG}, 400, "field_too_long", "name", "widget_form_invalid"),
    ({"name": "n" * 300}, 400, "invalid_field", "name", "widget_form_invalid"),
    ({"email": "not-an-address"}, 400, "invalid_field", "email", "invalid_email"),
    ({"email": "a@b"}, 400, "invalid_field", "email", "invalid_email"),
    ({"email": "x@example.com\nBcc: y@example.com"}, 400, "invalid_field", "email", "invalid_email"),
    ({"email": ""}, 400, "missing_field", "email", "widget_error_required"),
    ({"phone": "601234567"}, 400, "invalid_field", "phone", "widget_invalid_phone"),
    ({"phone": "+48 1"}, 400, "invalid_field", "phone", "widget_invalid_phone"),
    ({"phone": 48601234567}, 400, "invalid_field", "phone", "widget_form_invalid"),
    ({"country": ""}, 400, "missing_field", "country", "widget_error_required"),
    ({"help_topics": []}, 400, "invalid_field", "help_topics", "widget_error_choose"),
    ({"help_topics": "work"}, 400, "invalid_field", "help_topics", "widget_error_choose"),
    ({"help_topics": ["work", "taxes"]}, 400, "invalid_field", "help_topics", "widget_error_choose"),
    ({"help_topics": ["work"] * 7}, 400, "invalid_field", "help_topics", "widget_error_choose"),
    ({"help_topics": [1]}, 400, "invalid_field", "help_topics", "widget_error_choose"),
    ({"household": "dog"}, 400, "invalid_field", "household", "widget_form_invalid"),
    ({"household": None}, 400, "invalid_field", "household", "widget_form_invalid"),
    ({"move_when": "x" * 1000}, 400, "invalid_field", "move_when", "widget_form_invalid"),
    ({"preferred_language": "de"}, 400, "invalid_field", "preferred_language", "widget_form_invalid"),
    ({"consent": False}, 400, "consent_required", "consent", "consent_required"),
    ({"consent": "true"}, 400, "consent_required", "consent", "consent_required"),
    ({"consent": ...}, 400, "consent_required", "consent", "consent_required"),
    ({"consent_version": "0" * 12}, 409, "consent_changed", "consent", "widget_consent_changed"),
    ({"consent_version": ...}, 409, "consent_changed", "consent", "widget_consent_changed"),
    ({"session": "../../etc/passwd"}, 400, "invalid_session", "session", None),
    ({"session": 12345678901234567890}, 400, "invalid_session", "session", None),
    ({"lang": "de"}, 400, "invalid_lang", "lang", None),
    ({"lang": ...}, 400, "invalid_lang", "lang", None),
    ({"admin": True}, 400, "unknown_field", None, None),
]


@pytest.mark.parametrize("changes,status,code,field,phrase", BAD, ids=[f"{c}-{f}-{i}" for i, (_, _, c, f, _) in enumerate(BAD)])
def test_bad_contact_requests_get_a_clear_error_in_the_movers_language_and_store_nothing(client, database, kb, changes, status, code, field, phrase):
    body = {**valid(kb, lang="pl"), **changes}
    response = client.post("/api/contact", json={k: v for k, v in body.items() if v is not ...})
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error.get("field") == field
    assert error["message"]
    if phrase:
        assert error["message"] == kb.phrase(phrase, "pl")
    assert lead_count(database) == 0


@pytest.mark.parametrize("data,content_type", [
    ("not json", "application/json"), ("[1, 2]", "application/json"), ('"text"', "application/json"),
    (b"\xff\xfe\x00", "application/json"), ("name=x&email=y", "application/x-www-form-urlencoded"), ("", "application/json"),
])
def test_malformed_contact_bodies_are_rejected(client, database, data, content_type):
    response = client.post("/api/contact", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"
    assert lead_count(database) == 0


def test_a_huge_contact_body_is_rejected(client, database):
    response = client.post("/api/contact", data=b'{"name": "' + b"a" * 200_000 + b'"}', content_type="application/json")
    assert response.status_code == 413 and response.is_json
    assert lead_count(database) == 0


def test_the_contact_form_is_rate_limited_per_address(database, kb):
    client = make_app(database, CONTACT_RATE_LIMIT="2 per minute").test_client()
    assert [client.post("/api/contact", json=valid(kb, lang="sv")).status_code for _ in range(2)] == [201, 201]
    response = client.post("/api/contact", json=valid(kb, lang="sv"))
    assert response.status_code == 429
    assert response.get_json()["error"]["message"] == kb.phrase("widget_too_many", "sv")
    assert lead_count(database) == 2


def test_a_database_that_cannot_store_gives_503_and_the_phone_number(tmp_path, kb):
    broken = f"sqlite:///{tmp_path / 'no-schema.db'}"  # never migrated: no tables
    response = make_app(broken).test_client().post("/api/contact", json=valid(kb, lang="lv"))
    assert response.status_code == 503
    assert response.get_json()["error"] == {"code": "not_saved", "message": kb.phrase("lead_failed", "lv")}
    db.dispose(broken)


# ---------------------------------------------------------------- history: bad input

@pytest.mark.parametrize("body,code", [
    ({}, "invalid_session"), ({"session": ""}, "invalid_session"), ({"session": "short"}, "invalid_session"),
    ({"session": "a" * 65}, "invalid_session"), ({"session": "<script>alert(1)</script>xxxxxxxx"}, "invalid_session"),
    ({"session": 1234567890123456789}, "invalid_session"), ({"session": "a" * 20, "x": 1}, "unknown_field"),
    ([], "invalid_json"),
])
def test_history_rejects_bad_requests(client, body, code):
    response = client.post("/api/history", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_history_of_an_unknown_session_is_empty(client):
    with client.application.app_context():
        session = issue_session()  # a session id only the server can make (web/api.py signs them)
    response = client.post("/api/history", json={"session": session})
    assert response.status_code == 200
    assert response.get_json() == {"session": session, "lang": None, "messages": []}
    assert client.post("/api/history", json={"session": "a" * 24}).get_json()["error"]["code"] == "invalid_session"
    assert client.get("/api/history").status_code == 405


# ---------------------------------------------------------------- CORS and the widget script

def test_the_widget_endpoints_allow_other_sites_without_credentials(client):
    for path in ("/api/chat", "/api/contact", "/api/history", "/api/topics"):
        response = client.options(path, headers={"Origin": "https://www.lulea.se", "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "content-type"})
        assert response.headers.get("Access-Control-Allow-Origin") in ("*", "https://www.lulea.se"), path
        assert "Access-Control-Allow-Credentials" not in response.headers
    # Errors carry the header too, so the widget can read the message.
    response = client.post("/api/chat", json={"message": "hi", "lang": "pl"}, headers={"Origin": "https://www.lulea.se"})
    assert response.status_code == 503
    assert response.headers.get("Access-Control-Allow-Origin") in ("*", "https://www.lulea.se")


def test_only_configured_sites_when_origins_are_listed(database):
    client = make_app(database, WIDGET_ORIGINS=["https://www.lulea.se"]).test_client()
    ok = client.get("/api/topics", headers={"Origin": "https://www.lulea.se"})
    other = client.get("/api/topics", headers={"Origin": "https://evil.example"})
    assert ok.headers.get("Access-Control-Allow-Origin") == "https://www.lulea.se"
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Origin" not in client.get("/staff/login", headers={"Origin": "https://www.lulea.se"}).headers


def widget_config(body: str) -> dict:
    match = re.search(r"var CONFIG = (\{.*?\});\n", body)
    assert match, "the widget config was not built in"
    return json.loads(match.group(1))


def test_widget_script_has_every_interface_text_in_five_languages(client, kb):
    from web.pages import WIDGET_PHRASES

    response = client.get("/widget.js")
    assert response.status_code == 200 and response.mimetype == "application/javascript"
    body = response.get_data(as_text=True)
    assert "__WIDGET_CONFIG__" not in body
    config = widget_config(body)
    assert set(config["strings"]) == set(WIDGET_PHRASES)
    for key in WIDGET_PHRASES:
        assert set(config["strings"][key]) == {"en", "sv", "pl", "lt", "lv"}, key
    assert config["consent"] == {lang: consent_version(kb.phrase("ask_consent", lang)) for lang in ("en", "sv", "pl", "lt", "lv")}
    assert response.headers["Cache-Control"] == "no-cache"


def test_widget_script_stays_valid_javascript_whatever_the_phrases_contain(knowledge_copy, database, tmp_path):
    phrases = knowledge_copy / "phrases.yml"
    text = phrases.read_text(encoding="utf-8")
    hostile = '"</script><script>alert(1)</script> \u2028 \\" \' $ `"'
    text = re.sub(r'(widget_title:\n  en: ).*', lambda m: m.group(1) + json.dumps(hostile), text, count=1)
    phrases.write_text(text, encoding="utf-8")
    client = make_app(database, KNOWLEDGE_DIR=knowledge_copy).test_client()
    body = client.get("/widget.js").get_data(as_text=True)
    config_line = next(line for line in body.splitlines() if line.strip().startswith("var CONFIG = "))
    assert "</script" not in config_line.lower() and "\u2028" not in config_line  # safe even if inlined in HTML
    assert widget_config(body)["strings"]["widget_title"]["en"] == hostile
    script = tmp_path / "widget.js"
    script.write_text(body, encoding="utf-8")
    subprocess.run(["node", "--check", str(script)], check=True)


def test_demo_page_embeds_the_widget_with_one_script_tag(client):
    page = client.get("/?lang=lv").get_data(as_text=True)
    assert len(re.findall(r"<script\b", page)) == 1
    assert '<script src="/widget.js" data-lang="lv" defer></script>' in page
    assert 'data-lang' not in client.get("/?lang=de").get_data(as_text=True).split("<footer>")[0]
    assert '<script src="/widget.js" defer></script>' in client.get("/?lang=<x>").get_data(as_text=True)


# ---------------------------------------------------------------- history and transcript from the real tracker

@pytest.mark.stack
def test_history_returns_the_conversation_as_the_widget_showed_it(stack, chat, kb):
    greeting = chat.say("", payload="/greet", lang="pl")
    session = greeting["session"]
    answer = chat.say("Jak wynająć mieszkanie w Luleå?", session=session, lang="pl")
    button = next(b for b in answer["messages"][-1]["buttons"] if b["payload"].startswith("/ask_topic"))
    pressed = chat.say("", session=session, payload=button["payload"], lang="pl")
    response = chat.http.post(stack.urls["web"] + "/api/history", json={"session": session}, timeout=30)
    assert response.status_code == 200
    history = response.json()
    assert history["lang"] == "pl"
    shown = [(m["who"], m["text"]) for m in history["messages"]]
    expected = ([("bot", m["text"]) for m in greeting["messages"]] + [("user", "Jak wynająć mieszkanie w Luleå?")]
                + [("bot", m["text"]) for m in answer["messages"]] + [("user", button["title"])]
                + [("bot", m["text"]) for m in pressed["messages"]])
    assert shown == expected
    last = history["messages"][-1]
    assert last["sources"] == pressed["messages"][-1]["sources"] and last["buttons"] == pressed["messages"][-1]["buttons"]


@pytest.mark.stack
def test_a_contact_request_carries_the_masked_conversation(stack, chat, kb, database):
    first = chat.say("Mój e-mail to ewa.kowalska@example.pl, jak wynająć mieszkanie?", lang="pl")
    session = first["session"]
    client = make_app(database, TRACKER_DB=stack.extra_env["MOVE_TRACKER_DB"]).test_client()
    response = client.post("/api/contact", json=valid(kb, lang="pl", session=session))
    assert response.status_code == 201, response.get_json()
    with db.session_scope(database) as s:
        lead = s.scalars(select(Lead)).one()
        assert lead.session_id == session
        said = [item for item in lead.transcript if item["who"] == "user"]
        assert len(said) == 1 and "jak wynająć mieszkanie" in said[0]["text"]
        assert "ewa.kowalska@example.pl" not in json.dumps(lead.transcript, ensure_ascii=False)
        assert any(item["who"] == "bot" and item["text"] == first["messages"][0]["text"] for item in lead.transcript)


def test_history_before_rasa_created_its_table_is_empty(database, tmp_path):
    """An empty tracker file (created, but Rasa has not started on it yet) means no history yet."""
    empty = tmp_path / "tracker.db"
    empty.touch()
    client = make_app(database, TRACKER_DB=str(empty)).test_client()
    with client.application.app_context():
        session = issue_session()
    response = client.post("/api/history", json={"session": session})
    assert response.status_code == 200
    assert response.get_json()["messages"] == []
