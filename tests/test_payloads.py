"""Only the buttons the bot offers may be pressed: no arbitrary intents from clients."""

from __future__ import annotations

import pytest

from web import payloads

TOPICS = {"housing.rent", "admin.taxes"}


@pytest.mark.parametrize("raw,expected", [
    ('/ask_topic{"topic":"housing.rent"}', '/ask_topic{"topic":"housing.rent"}'),
    ('/ask_topic{"topic": "admin.taxes"}', '/ask_topic{"topic":"admin.taxes"}'),
    ("/talk_to_person", "/talk_to_person"),
    ("/more_details", "/more_details"),
    ('/set_language{"lang":"lv"}', '/set_language{"lang":"lv"}'),
])
def test_offered_payloads_are_accepted_in_canonical_form(raw, expected):
    assert payloads.validate(raw, TOPICS) == expected


@pytest.mark.parametrize("raw", [
    "", "/", "hello", "/restart", "/session_start", "/nlu_fallback", '/ask_topic{"topic":"housing.castles"}',
    '/ask_topic{"topic":"housing.rent","x":1}', '/ask_topic{"topic":["housing.rent"]}', "/ask_topic{not json}",
    '/set_language{"lang":"de"}', "/talk_to_person{}", "/more_details extra", "/../../etc/passwd",
    "/ask_topic" + "{" * 500, '/greet{"a":"<script>alert(1)</script>"}',
])
def test_anything_else_is_rejected(raw):
    assert payloads.validate(raw, TOPICS) is None
