"""The chat API's contract for bad input and for a backend that is down (no Rasa needed)."""

from __future__ import annotations

import pytest

from tests.conftest import free_port
from web import create_app


@pytest.fixture()
def client():
    app = create_app({"TESTING": True, "RASA_URL": f"http://127.0.0.1:{free_port()}", "ACTIONS_URL": f"http://127.0.0.1:{free_port()}"})
    return app.test_client()


BAD_BODIES = [
    ({}, "missing_message"),
    ({"message": ""}, "empty_message"),
    ({"message": "   \n\t "}, "empty_message"),
    ({"message": "\x00\x01\x02"}, "empty_message"),
    ({"message": 42}, "missing_message"),
    ({"message": ["a"]}, "missing_message"),
    ({"message": None}, "missing_message"),
    ({"message": "hi", "session": "short"}, "invalid_session"),
    ({"message": "hi", "session": "../../etc/passwd" + "a" * 20}, "invalid_session"),
    ({"message": "hi", "session": 123}, "invalid_session"),
    ({"message": "hi", "lang": "de"}, "invalid_lang"),
    ({"message": "hi", "lang": 5}, "invalid_lang"),
    ({"message": "hi", "extra": 1}, "unknown_field"),
    ({"payload": "/restart"}, "unknown_payload"),
    ({"payload": '/ask_topic{"topic":"nope.nope"}'}, "unknown_payload"),
    ({"payload": 7}, "invalid_payload"),
]


@pytest.mark.parametrize("body,code", BAD_BODIES, ids=[c for _, c in BAD_BODIES])
def test_invalid_chat_requests_get_a_clear_4xx(client, body, code):
    response = client.post("/api/chat", json=body)
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize("data,content_type", [
    ("not json", "application/json"), ("[1,2]", "application/json"), ('"text"', "application/json"),
    (b"\xff\xfe\x00bad", "application/json"), ("message=hi", "application/x-www-form-urlencoded"), ("", "application/json"),
])
def test_malformed_bodies_are_rejected(client, data, content_type):
    response = client.post("/api/chat", data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_too_long_message_is_rejected_in_the_users_language(client, kb):
    response = client.post("/api/chat", json={"message": "a" * 5000, "lang": "pl"})
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == kb.phrase("error_too_long", "pl", max_chars=1000)


def test_huge_body_is_rejected(client):
    response = client.post("/api/chat", data=b'{"message": "' + b"a" * 200_000 + b'"}', content_type="application/json")
    assert response.status_code == 413
    assert response.is_json


def test_backend_down_gives_503_with_a_message_in_the_users_language(client, kb):
    response = client.post("/api/chat", json={"message": "Jak wynająć mieszkanie?", "lang": "pl"})
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"]["message"] == kb.phrase("error_unavailable", "pl")
    assert body["session"]


def test_wrong_method_and_unknown_path_are_json_errors(client):
    assert client.get("/api/chat").status_code == 405
    assert client.get("/api/chat").get_json()["error"]["code"] == "method_not_allowed"
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/nothing").is_json


def test_topics_in_each_language_and_bad_language(client, kb):
    for lang in ("en", "sv", "pl", "lt", "lv"):
        topics = client.get(f"/api/topics?lang={lang}").get_json()["topics"]
        assert len(topics) == len(kb.topics)
        assert topics[0] == {"id": topics[0]["id"], "title": kb.title(topics[0]["id"], lang), "payload": f'/ask_topic{{"topic":"{topics[0]["id"]}"}}'}
    assert client.get("/api/topics?lang=xx").status_code == 400


def test_health_reports_down_components(client):
    response = client.get("/api/health")
    assert response.status_code == 503
    components = response.get_json()["components"]
    assert components["rasa"]["status"] == "down" and components["actions"]["status"] == "down"
    assert components["web"]["status"] == "ok" and components["knowledge"]["status"] == "ok"
