"""Language detection: questions, greetings, no-diacritics forms and explicit requests."""

from __future__ import annotations

import pytest

from knowledge import langid


@pytest.mark.parametrize("text,lang", [
    ("How do I rent an apartment in Luleå?", "en"),
    ("Jak wynająć mieszkanie w Luleå?", "pl"),
    ("Kaip išsinuomoti butą Luleå mieste?", "lt"),
    ("Kā īrēt dzīvokli Luleo?", "lv"),
    ("Hur hyr jag en lägenhet i Luleå?", "sv"),
    ("jak wynajac mieszkanie w lulea", "pl"),
    ("kaip issinuomoti buta lulea", "lt"),
    ("ka iret dzivokli lulea", "lv"),
    ("How much does förskola cost in Luleå?", "en"),
    ("Where is the Skatteverket office", "en"),
])
def test_questions_are_detected(text, lang):
    assert langid.choose_language(text, current=None, ui_lang=None) == lang


@pytest.mark.parametrize("text", ["ok", "sveiki", "?", "Luleå", "SFI"])
def test_short_ambiguous_messages_keep_the_conversation_language(text):
    assert langid.choose_language(text, current="lv", ui_lang="en") == "lv"
    assert langid.choose_language(text, current=None, ui_lang="pl") == "pl"


@pytest.mark.parametrize("text,lang", [("hej", "sv"), ("cześć", "pl"), ("labas", "lt"), ("paldies", "lv"), ("hello", "en")])
def test_unambiguous_greeting_words_settle_the_language(text, lang):
    assert langid.choose_language(text, current=None, ui_lang="en") == lang


@pytest.mark.parametrize("text,lang", [
    ("answer in English please", "en"), ("po polsku proszę", "pl"), ("lietuviškai", "lt"),
    ("latviski, lūdzu", "lv"), ("kan du svara på svenska?", "sv"),
])
def test_explicit_requests_switch_language(text, lang):
    assert langid.requested_language(text) == lang
    assert langid.choose_language(text, current="sv" if lang != "sv" else "en", ui_lang=None) == lang
