"""Editorial checks of `knowledge check`: translation tracking (an edited English or Swedish text
flags the other languages until an editor confirms them), the glossary (forbidden variants and
unexplained Swedish names, by file and line) and the statements still to be confirmed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import settings
from knowledge import editorial
from knowledge.loader import load_knowledge


def _issues(root: Path) -> list[str]:
    _, issues = load_knowledge(root, settings.TOPICS_CONTRACT)
    return [str(i) for i in issues]


def _review_warnings(root: Path) -> list[str]:
    return [i for i in _issues(root) if "translation needs review" in i]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str, after: str | None = None) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(after) if after else 0
    for number, line in enumerate(lines[start:], start + 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def _english_answer_start(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[lines.index("en:") + 3]          # en: / title / answer: |- / first answer line


def test_the_real_knowledge_has_every_translation_confirmed():
    assert _review_warnings(settings.KNOWLEDGE_DIR) == []


def test_editing_an_english_answer_lists_the_four_other_languages(knowledge_copy):
    editorial.confirm(knowledge_copy)
    assert _review_warnings(knowledge_copy) == []
    path = knowledge_copy / "topics" / "housing.rent.yml"
    first = _english_answer_start(path)
    _edit(path, first, first + " Rents in new buildings are higher.")
    warnings = _review_warnings(knowledge_copy)
    flagged = sorted(w.split(": ")[3].split()[0] for w in warnings)
    assert flagged == ["lt", "lv", "pl", "sv"], warnings
    for lang in ("sv", "pl", "lt", "lv"):
        line = _line_of(path, "  answer:", after=f"{lang}:")
        assert (f"knowledge/topics/housing.rent.yml:{line}: warning: housing.rent: {lang} translation needs review: "
                f"the en text changed since it was last reviewed (when done: make knowledge-confirm UNIT=housing.rent LANGS={lang})") in warnings
    # the same list from the command line, as `make knowledge-check` prints it
    run = subprocess.run([sys.executable, "-m", "knowledge", "check", "--no-notes"], cwd=settings.ROOT,
                         env={**os.environ, "MOVE_KNOWLEDGE_DIR": str(knowledge_copy)}, capture_output=True, text=True)
    assert run.returncode == 0
    assert sum("housing.rent: " in line and "translation needs review" in line for line in run.stdout.splitlines()) == 4
    # an editor reviews Polish and confirms it; the other three stay listed
    editorial.confirm(knowledge_copy, ["housing.rent"], ["pl"])
    assert sorted(w.split(": ")[3].split()[0] for w in _review_warnings(knowledge_copy)) == ["lt", "lv", "sv"]
    editorial.confirm(knowledge_copy, ["housing.rent"])
    assert _review_warnings(knowledge_copy) == []


def test_editing_swedish_flags_english_too_and_rewrapping_flags_nothing(knowledge_copy):
    editorial.confirm(knowledge_copy)
    path = knowledge_copy / "topics" / "admin.bank.yml"
    text = path.read_text(encoding="utf-8")
    sv = text.index("\nsv:\n")
    answer = text.index("  answer: |-\n    ", sv) + len("  answer: |-\n    ")
    path.write_text(text[:answer] + "  " + text[answer:], encoding="utf-8")      # spacing only
    assert _review_warnings(knowledge_copy) == []
    path.write_text(text[:answer] + "Nytt: " + text[answer:], encoding="utf-8")
    flagged = sorted(w.split(": ")[3].split()[0] for w in _review_warnings(knowledge_copy))
    assert flagged == ["en", "lt", "lv", "pl"]


def test_a_phrase_is_tracked_and_an_unconfirmed_unit_is_listed(knowledge_copy):
    editorial.confirm(knowledge_copy)
    _edit(knowledge_copy / "phrases.yml", '  en: "Yes, I agree"', '  en: "Yes, I consent"')
    assert sorted(w.split(": ")[3].split()[0] for w in _review_warnings(knowledge_copy) if "phrase:consent_yes" in w) == ["lt", "lv", "pl", "sv"]
    reviews = (knowledge_copy / editorial.TRANSLATIONS_FILE).read_text(encoding="utf-8")
    start = reviews.index("admin.bank:\n")
    end = reviews.index("\n", reviews.index("  lv:", start)) + 1
    (knowledge_copy / editorial.TRANSLATIONS_FILE).write_text(reviews[:start] + reviews[end:], encoding="utf-8")
    never = [w for w in _review_warnings(knowledge_copy) if "admin.bank:" in w]
    assert len(never) == 5 and all("never been confirmed" in w for w in never)


def test_confirm_command(knowledge_copy):
    env = {**os.environ, "MOVE_KNOWLEDGE_DIR": str(knowledge_copy)}
    run = subprocess.run([sys.executable, "-m", "knowledge", "confirm", "housing.rent", "--lang", "pl"], cwd=settings.ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "confirmed 1 translation(s) in 1 unit(s)" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "knowledge", "confirm", "housing.castles"], cwd=settings.ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown unit(s): housing.castles" in bad.stderr


def test_a_forbidden_variant_is_an_error_with_file_and_line(knowledge_copy):
    path = knowledge_copy / "topics" / "education.swedish-language.yml"
    first = _english_answer_start(path)
    _edit(path, first, first.replace("SFI", "sfi", 1))
    line = _line_of(path, first.replace("SFI", "sfi", 1))
    errors = [i for i in _issues(knowledge_copy) if ": error: " in i]
    assert errors == [f"knowledge/topics/education.swedish-language.yml:{line}: error: en.answer: write 'SFI', not 'sfi' (glossary: sfi)"]


def test_a_forbidden_variant_inside_an_allowed_name_is_fine_and_phrases_are_checked(knowledge_copy):
    phrases = knowledge_copy / "phrases.yml"
    _edit(phrases, '  lv: "Jā, piekrītu"', '  lv: "Jā, piekrītu, ka Team Flytta till Luleå un Luleå kommun sazinās"')
    assert [i for i in _issues(knowledge_copy) if ": error: " in i] == []
    _edit(phrases, "un Luleå kommun sazinās", "un Luleå sazinās")
    line = _line_of(phrases, "un Luleå sazinās")
    assert [i for i in _issues(knowledge_copy) if ": error: " in i] == [
        f"knowledge/phrases.yml:{line}: error: consent_yes.lv: write 'Luleo', not 'Luleå' (glossary: lulea-in-latvian)"]


def test_a_swedish_name_without_explanation_is_a_warning_at_its_line(knowledge_copy):
    path = knowledge_copy / "topics" / "work.start-business.yml"
    _edit(path, "Skatteverket (the Swedish Tax Agency)", "Skatteverket")
    line = _line_of(path, "Bolagsverket (the Companies Registration Office) and Skatteverket,")
    warnings = [i for i in _issues(knowledge_copy) if "without explaining" in i]
    assert warnings == [f"knowledge/topics/work.start-business.yml:{line}: warning: en.answer uses 'Skatteverket' without explaining it in en: "
                        "add it once, e.g. 'Tax Agency' (glossary)"]


def test_glossary_problems_are_reported(knowledge_copy):
    (knowledge_copy / "glossary.yml").write_text("terms:\n  sfi:\n    xx: {use: SFI}\n", encoding="utf-8")
    errors = [i for i in _issues(knowledge_copy) if ": error: " in i]
    assert errors and errors[0].startswith("knowledge/glossary.yml: error: terms.sfi.xx: needs a language code")


def test_statements_to_confirm_are_listed_and_phrase_notes_must_name_phrases(knowledge_copy):
    notes = editorial.open_confirmations(knowledge_copy)
    assert any(n.startswith("knowledge/topics/service.about.yml:") and "to confirm with the DPO: Controller" in n for n in notes)
    assert any(n.startswith("knowledge/phrases.yml:") and "ask_consent" in n for n in notes)
    _edit(knowledge_copy / "phrases.yml", "_confirm_with_team:\n", "_confirm_with_team:\n  no_such_phrase: x\n")
    errors = [i for i in _issues(knowledge_copy) if ": error: " in i]
    assert len(errors) == 1 and "_confirm_with_team must map phrase keys of this file to a note" in errors[0]
