"""The knowledge base as movers get it from the running assistant: every topic in every language,
with its sources, and editors' changes served without a restart or retrain."""

from __future__ import annotations

import pytest
import requests

import settings
from actions.replies import topic_payload
from tests.conftest import wait_until

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("lang", settings.LANGUAGES)
def test_every_topic_is_answered_in_each_language_with_its_sources(chat, stack, kb, lang):
    titles = {t["id"]: t["title"] for t in requests.get(stack.urls["web"] + f"/api/topics?lang={lang}", timeout=10).json()["topics"]}
    assert set(titles) == set(kb.topics)
    for topic_id, topic in kb.topics.items():
        answer = chat.say("", payload=topic_payload(topic_id), lang=lang)["messages"][0]
        assert answer["topic"] == topic_id
        assert answer["lang"] == lang
        assert answer["text"] == topic.entry(lang).answer
        assert answer["sources"] == [s.url for s in topic.sources]
        assert titles[topic_id] == topic.entry(lang).title


def _wait_for(predicate, timeout: float = 30.0):
    return wait_until(predicate, "the edit to be served", timeout=timeout, interval=0.3)


def test_edited_answer_is_served_without_restart_and_broken_edit_keeps_last_good(chat, stack):
    path = stack.knowledge_dir / "topics" / "housing.rent.yml"
    original = path.read_text(encoding="utf-8")
    marker = "Edited by the test: queue early for Lulebo."
    question = "How do I rent an apartment in Luleå?"
    try:
        path.write_text(original.replace("  answer: |-\n", f"  answer: |-\n    {marker}\n\n", 1), encoding="utf-8")
        edited = _wait_for(lambda: (m := chat.say(question)["messages"][0])["text"].startswith(marker) and m)
        assert edited["topic"] == "housing.rent"

        path.write_text(original.replace("owner: ", "owner: [", 1), encoding="utf-8")  # invalid YAML
        health = _wait_for(lambda: (h := requests.get(stack.urls["web"] + "/api/health", timeout=10).json())
                           ["components"]["knowledge"]["status"] == "stale" and h)
        assert "housing.rent.yml" in health["components"]["knowledge"]["error"]
        still = chat.say(question)["messages"][0]
        assert still["topic"] == "housing.rent" and still["text"].startswith(marker)  # last good version
    finally:
        path.write_text(original, encoding="utf-8")
    restored = _wait_for(lambda: not (m := chat.say(question)["messages"][0])["text"].startswith(marker) and m)
    assert restored["topic"] == "housing.rent"
