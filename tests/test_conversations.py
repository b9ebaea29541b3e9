"""Whole conversations (tests/conversations/<lang>.yml), typed the way movers type, replayed turn by
turn through the real stack: follow-ups, small talk, asking for a person, cancelling, repair,
emergencies and out-of-scope questions in all five languages."""

from __future__ import annotations

import pytest

from knowledge import conversations

pytestmark = pytest.mark.stack

# Issue 13 aims at 95 % of turns per language; this is the floor the suite measured when it landed
# (83.7–92.7 %, see the issue note), so a change that makes conversations worse fails here.
TARGET_HANDLED = 80.0
TARGET_HANDOFF = 98.0


@pytest.fixture(scope="module")
def results(stack):
    out = []
    for conv in conversations.load():
        out += conversations.replay(stack.urls["web"], conv)
    return out


def _failures(items) -> str:
    return "\n".join(f"  [{r.lang}] {r.conversation} #{r.index + 1} {r.user!r}: {'; '.join(r.failures)}" for r in items if not r.ok)


def test_every_language_has_at_least_20_conversations():
    per_lang = {}
    for conv in conversations.load():
        per_lang[conv["lang"]] = per_lang.get(conv["lang"], 0) + 1
    assert set(per_lang) == {"en", "sv", "pl", "lt", "lv"} and min(per_lang.values()) >= 20, per_lang


@pytest.mark.parametrize("lang", ["en", "sv", "pl", "lt", "lv"])
def test_turns_are_handled_in_every_language(results, lang):
    mine = [r for r in results if r.lang == lang]
    handled = 100 * sum(r.ok for r in mine) / len(mine)
    assert handled >= TARGET_HANDLED, f"{lang}: {handled:.1f} % of {len(mine)} turns handled\n" + _failures(mine)


def test_emergencies_always_get_112_first(results):
    emergencies = [r for r in results if r.expect.get("emergency") is True]
    assert len(emergencies) >= 20
    missed = [r for r in emergencies if "112" not in (r.reply[0]["text"] if r.reply else "")]
    assert not missed, _failures(missed) or [(r.user, r.reply[:1]) for r in missed]


def test_short_negative_or_unsure_replies_never_get_the_emergency_text(results):
    calm = [r for r in results if r.expect.get("emergency") is False]
    assert len(calm) >= 20
    alarmed = [r for r in calm if any("112" in m.get("text", "") for m in r.reply)]
    assert not alarmed, [(r.lang, r.user) for r in alarmed]


def test_asking_for_a_person_in_own_words_starts_the_form(results):
    asks = [r for r in results if r.expect.get("handoff")]
    assert len(asks) >= 15
    started = 100 * sum(any(m.get("decision") == "handoff" for m in r.reply) for r in asks) / len(asks)
    assert started >= TARGET_HANDOFF, _failures(asks)
