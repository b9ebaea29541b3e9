"""A long conversation stays fast because it is split into Rasa sessions (MOVE_SESSION_MAX_TURNS;
the shared stack uses 6), and the mover notices nothing: the language, the topic "more details"
refers to, the history after a reload and a contact form in progress all carry over."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
import requests

pytestmark = pytest.mark.stack

MAX_TURNS = 6  # tests/conftest.py sets MOVE_SESSION_MAX_TURNS to this for the shared stack
REFERENCE = re.compile(r"\bML-[0-9A-HJKMNP-TV-Z]{4}\b")


def session_starts(stack, session: str) -> int:
    with sqlite3.connect(stack.extra_env["MOVE_TRACKER_DB"]) as conn:
        return conn.execute("SELECT count(*) FROM events WHERE sender_id = ? AND type_name = 'session_started'",
                            (session,)).fetchone()[0]


def test_the_shared_stack_splits_sessions_after_six_turns(stack):
    assert stack.extra_env["MOVE_SESSION_MAX_TURNS"] == str(MAX_TURNS)


def test_a_long_latvian_conversation_keeps_its_language_topic_and_history(chat, kb, stack):
    questions = ["Kā atrast darbu Luleå?", "Cik maksā īre Luleå?", "Kā iegūt personas numuru?",
                 "Kā pieteikties skolā bērnam?", "Vai ziemā ir ļoti auksts?", "Kā atrast ārstu?",
                 "Kā darbojas nodokļi Zviedrijā?", "Kā atrast dzīvokli?"]
    session = None
    for question in questions:
        reply = chat.say(question, session=session)
        session = reply["session"]
        assert reply["messages"][0]["lang"] == "lv", question
        assert all("new_session" not in m for m in reply["messages"])  # internal, never sent to the widget
    assert session_starts(stack, session) >= 2  # the conversation was split at least once

    # "more details" after the split is about the topic answered just before it
    last_topic = reply["messages"][0]["topic"]
    details = chat.say("", session=session, payload="/more_details")["messages"][0]
    assert details["lang"] == "lv"
    assert details["text"] == kb.topics[last_topic].entry("lv").details

    # a reload shows the whole conversation, across sessions, without internal messages
    history = requests.post(stack.urls["web"] + "/api/history", json={"session": session}, timeout=30).json()
    said = [m["text"] for m in history["messages"] if m["who"] == "user"]
    assert said[:len(questions)] == questions
    assert not any(text.startswith("/") for text in said)
    assert history["lang"] == "lv"


def test_a_contact_form_is_never_cut_by_a_new_session(chat, kb, stack):
    session = None
    for question in ["How do I find a job?", "What does rent cost?", "How cold is the winter?",
                     "How do I get a personnummer?", "Where do I register my address?"]:
        session = chat.say(question, session=session)["session"]
    # the form starts at the sixth turn and runs well past the limit
    steps = [("/talk_to_person", "ask_name"), ("Jonas Petraitis", "ask_email"),
             ("jonas@example.lt", "ask_phone"), ("/skip", "ask_country"), ("Lithuania", "ask_profession"),
             ("welder", "ask_topics")]
    for said, expected in steps:
        payload = said if said.startswith("/") else None
        reply = chat.say("" if payload else said, session=session, payload=payload)
        assert reply["messages"][-1]["text"] == kb.phrase(expected, "en"), said
    for payload in ('/inform{"help_topic":"work"}', "/done", '/inform{"household":"alone"}',
                    '/inform{"move_when":"later"}', '/inform{"preferred_language":"en"}', "/skip", "/affirm"):
        reply = chat.say("", session=session, payload=payload)
    assert reply["messages"][-1]["text"] == kb.phrase("ask_consent", "en")
    sent = chat.say("yes, I agree", session=session)["messages"][-1]["text"]
    assert REFERENCE.search(sent), sent


def test_rasa_is_asked_for_a_new_session_only_when_the_action_says_so(stack):
    """The marker that starts a new session stays inside: a mover typing '/session_start' gets an
    ordinary answer and no new session."""
    http = requests.Session()
    first = http.post(stack.urls["web"] + "/api/chat", json={"message": "Hello"}, timeout=30).json()
    session = first["session"]
    before = session_starts(stack, session)
    reply = http.post(stack.urls["web"] + "/api/chat", json={"message": "/session_start", "session": session}, timeout=30)
    assert reply.status_code == 200 and reply.json()["messages"]
    assert session_starts(stack, session) == before
    assert "new_session" not in json.dumps(reply.json())


def test_a_new_session_carries_each_slot_over_once(chat, stack):
    """Rasa 3.6 copied every slot event of the old session into the new one, so each session
    started longer than the last (bot/server.py keeps one per slot): after three splits a session
    still begins with at most one slot event per slot."""
    session = None
    for i in range(3 * MAX_TURNS + 2):
        session = chat.say(["Where can I rent a flat?", "How do I find a job?", "Jak znaleźć pracę?"][i % 3], session=session)["session"]
    with sqlite3.connect(stack.extra_env["MOVE_TRACKER_DB"]) as conn:
        rows = conn.execute("SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (session,)).fetchall()
    starts = [i for i, (kind, _) in enumerate(rows) if kind == "session_started"]
    assert len(starts) >= 4
    last = starts[-1]
    carried = []
    for kind, data in rows[last + 1:]:
        if kind != "slot":
            break
        carried.append(json.loads(data)["name"])
    assert carried, "the language and the last topic carry over"
    assert len(carried) == len(set(carried)), carried
    assert {"lang", "last_topic"} <= set(carried)
