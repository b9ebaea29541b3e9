"""The assistant end to end: the real Rasa server, action server and web app, through the
public chat API exactly as the widget uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.stack

RENT_QUESTIONS = [
    ("en", "How do I rent an apartment in Luleå?"),
    ("pl", "Jak wynająć mieszkanie w Luleå?"),
    ("lt", "Kaip išsinuomoti butą Luleå mieste?"),
    ("lv", "Kā īrēt dzīvokli Luleo?"),
    ("sv", "Hur hyr jag en lägenhet i Luleå?"),
]


@pytest.mark.parametrize("lang,question", RENT_QUESTIONS, ids=[lang for lang, _ in RENT_QUESTIONS])
def test_rent_question_is_answered_in_its_language_with_sources(chat, kb, lang, question):
    reply = chat.say(question)
    answer = reply["messages"][0]
    assert answer["topic"] == "housing.rent"
    assert answer["lang"] == lang
    assert answer["text"] == kb.topics["housing.rent"].entry(lang).answer
    assert answer["sources"] and all(url.startswith("https://") for url in answer["sources"])
    assert answer["candidates"][0] == "housing.rent"


def test_server_issues_a_session_and_the_conversation_keeps_its_language(chat):
    first = chat.say("Jak wynająć mieszkanie w Luleå?")
    session = first["session"]
    assert len(session) >= 16
    # "ok" says nothing about the language: the conversation stays Polish.
    second = chat.say("ok", session=session)
    assert second["session"] == session
    assert all(m["lang"] == "pl" for m in second["messages"])


def test_topic_button_payload_opens_the_topic(chat, kb):
    reply = chat.say("", payload='/ask_topic{"topic":"housing.rent"}', lang="lv")
    answer = reply["messages"][0]
    assert answer["topic"] == "housing.rent"
    assert answer["lang"] == "lv"
    assert answer["text"] == kb.topics["housing.rent"].entry("lv").answer


def test_more_details_follows_the_last_topic(chat, kb):
    session = chat.say("How do I rent an apartment in Luleå?")["session"]
    reply = chat.say("", session=session, payload="/more_details")
    assert reply["messages"][0]["text"] == kb.topics["housing.rent"].entry("en").details


def test_off_topic_question_is_declined_not_answered(chat):
    reply = chat.say("Who won the football match yesterday?")
    message = reply["messages"][0]
    assert message["topic"] is None
    assert isinstance(message["candidates"], list)
    assert message["lang"] == "en"


def test_topics_api_lists_every_topic_in_each_language(stack, kb):
    for lang in ("en", "sv", "pl", "lt", "lv"):
        data = requests.get(stack.urls["web"] + f"/api/topics?lang={lang}", timeout=10).json()
        assert [t["id"] for t in data["topics"]] == list(kb.topics)
        assert all(t["title"] == kb.title(t["id"], lang) for t in data["topics"])


def test_health_reports_every_component(stack):
    data = requests.get(stack.urls["web"] + "/api/health", timeout=10).json()
    assert data["status"] == "ok"
    assert {"web", "rasa", "actions", "knowledge"} <= set(data["components"])
    assert data["components"]["knowledge"]["topics"] >= 33


def test_demo_page_embeds_the_widget_with_one_script_tag(stack):
    page = requests.get(stack.urls["web"] + "/", timeout=10)
    assert page.status_code == 200
    assert '<script src="/widget.js" defer></script>' in page.text
    script = requests.get(stack.urls["web"] + "/widget.js", timeout=10)
    assert script.status_code == 200 and "MoveToLulea" in script.text and "__UI_STRINGS__" not in script.text


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, from the kernel's tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                    found.add(address)
    return found


def test_rasa_and_action_server_listen_on_loopback_only(stack):
    loopback = {"0100007F", "00000000000000000000000001000000"}
    for port in (stack.rasa_port, stack.actions_port):
        addresses = _listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert addresses <= loopback, f"port {port} listens on {addresses}"


def test_asking_for_a_language_pins_it_for_the_conversation(chat, kb):
    session = chat.say("Jak wynająć mieszkanie w Luleå?")["session"]
    switched = chat.say("answer in English please", session=session)["messages"][0]
    assert switched["lang"] == "en"
    assert switched["text"] == kb.phrase("language_switched", "en", language_name=kb.phrase("language_name", "en"))
    answer = chat.say("Ile kosztuje przedszkole w Luleå?", session=session)["messages"][0]
    assert answer["lang"] == "en" and answer["topic"] == "education.preschool"
    assert answer["text"] == kb.topics["education.preschool"].entry("en").answer


def test_widget_language_choice_is_followed(chat, kb):
    session = chat.say("", payload='/set_language{"lang":"lv"}', lang="lv")["session"]
    answer = chat.say("How do I rent an apartment in Luleå?", session=session, lang="lv")["messages"][0]
    assert answer["lang"] == "lv" and answer["topic"] == "housing.rent"
    assert answer["text"] == kb.topics["housing.rent"].entry("lv").answer


def test_a_new_conversation_follows_the_language_the_user_writes(chat):
    # the widget says Polish, the person writes Lithuanian: the reply is Lithuanian
    answer = chat.say("Kaip išsinuomoti butą Luleå mieste?", lang="pl")["messages"][0]
    assert answer["lang"] == "lt"


def test_action_server_refuses_calls_without_the_shared_token(stack):
    body = {"next_action": "action_answer", "sender_id": "x", "tracker": {"sender_id": "x", "slots": {}, "events": [],
            "latest_message": {"text": "hi", "intent": {"name": "greet"}}}, "domain": {}}
    url = stack.urls["actions"] + "/webhook"
    assert requests.post(url, json=body, timeout=10).status_code == 401
    assert requests.post(url, params={"token": "wrong"}, json=body, timeout=10).status_code == 401
    assert requests.get(stack.urls["actions"] + "/health", timeout=10).status_code == 200


def test_the_action_server_answers_without_loading_torch(stack):
    """Embeddings run on ONNX Runtime: torch (250 MB of memory) must not be loaded by the action
    server, although spaCy's thinc would import it (actions/server.py keeps it out)."""
    pid = stack.processes["actions"].pid
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "onnxruntime" in maps
    assert "libtorch" not in maps
