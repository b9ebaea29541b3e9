"""The knowledge validator: the real files pass, and each kind of mistake an editor can make
is reported with its file and line."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

import settings
from knowledge.loader import load_knowledge

LANGS = settings.LANGUAGES


def test_every_contract_topic_is_present_in_all_five_languages(kb):
    import yaml

    contract = yaml.safe_load(settings.TOPICS_CONTRACT.read_text(encoding="utf-8"))
    ids = [t for group in contract.values() for t in group]
    assert len(ids) >= 33
    for topic_id in ids:
        topic = kb.topics[topic_id]
        for lang in LANGS:
            entry = topic.entry(lang)
            assert entry.title and entry.answer and len(entry.questions) >= 12, (topic_id, lang)
        assert topic.sources


def test_real_knowledge_has_no_errors():
    _, issues = load_knowledge(settings.KNOWLEDGE_DIR, settings.TOPICS_CONTRACT)
    assert [str(i) for i in issues if i.level == "error"] == []


def _errors(root: Path, **kwargs) -> list[str]:
    kb, issues = load_knowledge(root, settings.TOPICS_CONTRACT, **kwargs)
    return [str(i) for i in issues if i.level == "error"]


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_invalid_yaml_names_file_and_line(knowledge_copy):
    path = knowledge_copy / "topics" / "housing.rent.yml"
    _edit(path, "owner: ", "owner: [unclosed ")
    errors = _errors(knowledge_copy)
    assert len(errors) == 1
    assert errors[0].startswith("knowledge/topics/housing.rent.yml:")
    assert "invalid YAML" in errors[0]


def test_unknown_topic_id_is_an_error(knowledge_copy):
    source = knowledge_copy / "topics" / "housing.rent.yml"
    target = knowledge_copy / "topics" / "housing.castles.yml"
    target.write_text(source.read_text(encoding="utf-8").replace("id: housing.rent", "id: housing.castles"), encoding="utf-8")
    errors = _errors(knowledge_copy)
    assert any("housing.castles.yml:1:" in e and "unknown topic id 'housing.castles'" in e for e in errors), errors


def test_missing_language_is_reported(knowledge_copy):
    path = knowledge_copy / "topics" / "housing.rent.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index("\nlv:\n")
    path.write_text(text[:start + 1], encoding="utf-8")
    errors = _errors(knowledge_copy)
    assert any("housing.rent.yml" in e and "lv is missing" in e for e in errors), errors


def test_empty_answer_is_reported_at_its_line(knowledge_copy):
    path = knowledge_copy / "topics" / "housing.rent.yml"
    text = path.read_text(encoding="utf-8")
    pl = text.index("\npl:\n")
    head, tail = text[:pl], text[pl:]
    answer_start = tail.index("  answer: |-\n")
    details_start = tail.index("  details: |-\n")
    tail = tail[:answer_start] + '  answer: "   "\n' + tail[details_start:]
    path.write_text(head + tail, encoding="utf-8")
    line = _line_of(path, 'answer: "   "')
    errors = _errors(knowledge_copy)
    assert f"knowledge/topics/housing.rent.yml:{line}: error: pl.answer must not be empty" in errors


def test_malformed_url_is_reported(knowledge_copy):
    path = knowledge_copy / "topics" / "housing.rent.yml"
    _edit(path, "url: https://", "url: htps:/")
    line = _line_of(path, "url: htps:/")
    errors = _errors(knowledge_copy)
    assert any(e.startswith(f"knowledge/topics/housing.rent.yml:{line}:") and "not a valid http(s) URL" in e for e in errors), errors


def test_review_date_in_the_future_is_an_error_and_old_one_a_warning(knowledge_copy):
    path = knowledge_copy / "topics" / "housing.rent.yml"
    future = dt.date.today() + dt.timedelta(days=30)
    _edit(path, "last_reviewed: 2026-11-27", f"last_reviewed: {future}")
    assert any("is in the future" in e for e in _errors(knowledge_copy))
    _edit(path, f"last_reviewed: {future}", "last_reviewed: 2020-01-31")
    kb, issues = load_knowledge(knowledge_copy, settings.TOPICS_CONTRACT, review_after_months=6)
    assert kb is not None
    assert any(i.level == "warning" and "not reviewed for 6+ months" in i.message for i in issues)


def test_example_question_in_two_topics_is_an_error(knowledge_copy, kb):
    question = kb.topics["housing.rent"].entry("en").questions[0]
    path = knowledge_copy / "topics" / "admin.taxes.yml"
    text = path.read_text(encoding="utf-8")
    marker = "  questions:\n"
    at = text.index(marker) + len(marker)
    path.write_text(text[:at] + f"    - {question.upper()}\n" + text[at:], encoding="utf-8")
    errors = _errors(knowledge_copy)
    assert any("admin.taxes" in e and "housing.rent" in e and "an example must belong to one topic" in e for e in errors), errors


def test_too_few_questions_and_unknown_field(knowledge_copy):
    path = knowledge_copy / "topics" / "housing.rent.yml"
    _edit(path, "owner:", "ownr: typo\nowner:")
    errors = _errors(knowledge_copy)
    assert any("ownr is not a known field" in e for e in errors), errors


def test_long_answer_is_a_warning(knowledge_copy):
    path = knowledge_copy / "topics" / "housing.rent.yml"
    _edit(path, "  answer: |-\n", "  answer: |-\n    " + "Very long text. " * 60 + "\n\n")
    kb, issues = load_knowledge(knowledge_copy, settings.TOPICS_CONTRACT)
    assert kb is not None
    assert any(i.level == "warning" and "long for a chat bubble" in i.message for i in issues)


@pytest.mark.parametrize("content", ["", "- a list\n", "\x00\x01binary", "key: [", "a: b\n" * 5])
def test_hostile_phrases_file_is_rejected_cleanly(knowledge_copy, content):
    (knowledge_copy / "phrases.yml").write_text(content, encoding="utf-8")
    errors = _errors(knowledge_copy)
    assert errors and all("phrases.yml" in e for e in errors)


def test_check_command_exit_codes_and_summary(knowledge_copy):
    env_ok = {"MOVE_KNOWLEDGE_DIR": str(settings.KNOWLEDGE_DIR)}
    env_bad = {"MOVE_KNOWLEDGE_DIR": str(knowledge_copy)}
    _edit(knowledge_copy / "topics" / "housing.rent.yml", "owner: ", "owner: [")
    good = _run_check(env_ok)
    bad = _run_check(env_bad)
    assert good.returncode == 0 and good.stdout.strip().splitlines()[-1].startswith("knowledge check OK")
    assert bad.returncode == 1 and "knowledge check FAILED" in bad.stdout


def _run_check(extra_env: dict) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **extra_env}
    return subprocess.run([sys.executable, "-m", "knowledge", "check"], cwd=settings.ROOT, env=env, capture_output=True, text=True)
