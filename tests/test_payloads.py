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
    # the contact form's buttons (actions/lead_form.py)
    ("/cancel", "/cancel"), ("/skip", "/skip"), ("/affirm", "/affirm"), ("/deny", "/deny"), ("/done", "/done"),
    ("/correct", "/correct"),
    ('/correct{"field": "move_when"}', '/correct{"field":"move_when"}'),
    ('/inform{"household":"children"}', '/inform{"household":"children"}'),
    ('/inform{"move_when": "half_year"}', '/inform{"move_when":"half_year"}'),
    ('/inform{"help_topic":"admin"}', '/inform{"help_topic":"admin"}'),
    ('/inform{"preferred_language":"lt"}', '/inform{"preferred_language":"lt"}'),
])
def test_offered_payloads_are_accepted_in_canonical_form(raw, expected):
    assert payloads.validate(raw, TOPICS) == expected


@pytest.mark.parametrize("raw", [
    "", "/", "hello", "/restart", "/session_start", "/nlu_fallback", '/ask_topic{"topic":"housing.castles"}',
    '/ask_topic{"topic":"housing.rent","x":1}', '/ask_topic{"topic":["housing.rent"]}', "/ask_topic{not json}",
    '/set_language{"lang":"de"}', "/talk_to_person{}", "/more_details extra", "/../../etc/passwd",
    "/ask_topic" + "{" * 500, '/greet{"a":"<script>alert(1)</script>"}',
    # the contact form's buttons accept only the values the form offers
    '/inform{"household":"dog"}', '/inform{"household":"partner","move_when":"soon"}', '/inform{"lang":"pl"}',
    '/inform{"preferred_language":"de"}', '/inform{"help_topic":["work"]}', '/inform{"help_topic":"work\\u0000"}',
    '/inform{"name":"Anna"}', "/inform", '/correct{"field":"consent"}', '/correct{"field":"lead_email"}',
    '/correct{"slot":"email"}', '/cancel{"x":"y"}', "/skip extra", "/affirm{}", "/Cancel",
    '/inform{"household":"<img src=x onerror=alert(1)>"}', "/inform{\"move_when\":\"soon' OR '1'='1\"}",
])
def test_anything_else_is_rejected(raw):
    assert payloads.validate(raw, TOPICS) is None
