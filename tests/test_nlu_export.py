"""Generated Rasa data follows the knowledge files and is stable."""

from __future__ import annotations

import yaml

from knowledge import nlu_export
from knowledge.nlu_export import HEADER


def test_generation_is_deterministic_and_marked_generated(kb):
    first, second = nlu_export.render(kb), nlu_export.render(kb)
    assert first == second
    assert all(content.startswith(HEADER) for content in first.values())


def test_every_example_question_is_training_data_for_its_topic(kb):
    nlu = yaml.safe_load(nlu_export.render(kb)["bot/data/generated/topics_nlu.yml"])["nlu"]
    by_intent = {item["intent"]: item["examples"] for item in nlu}
    for topic in kb.topics.values():
        examples = by_intent[f"kb.{topic.id}"]
        for lang in ("en", "sv", "pl", "lt", "lv"):
            for question in topic.entry(lang).questions:
                assert f"- {' '.join(question.split())}\n" in examples


def test_written_files_are_in_sync_with_the_knowledge(kb, tmp_path):
    changed = nlu_export.write(kb, tmp_path)
    assert len(changed) == 3
    assert nlu_export.write(kb, tmp_path) == []  # unchanged knowledge: nothing rewritten, no retrain


def test_answers_are_not_training_data(kb):
    rendered = "".join(nlu_export.render(kb).values())
    assert kb.topics["housing.rent"].entry("en").answer.splitlines()[0] not in rendered
