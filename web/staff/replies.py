"""Reply templates: what staff start a reply to a mover from, one YAML file per language in
replies/ (MOVE_REPLY_TEMPLATES_DIR), editable like the knowledge files.

Each file maps a template id to {title, subject, body}; every language has the same ids. The text may
use {name}, {reference} and {staff}; a line in [square brackets] marks what staff must write
themselves, and a reply still holding one is not sent.

    python -m web.staff.replies      # validate the files (run by `make knowledge-check`)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

import settings

PLACEHOLDERS = ("name", "reference", "staff")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
FILL_IN_RE = re.compile(r"^\s*\[[^\[\]\n]+\]\s*$", re.MULTILINE)
MAX_SUBJECT = 200
MAX_BODY = 10_000


@dataclass(frozen=True)
class ReplyTemplate:
    id: str
    lang: str
    title: str
    subject: str
    body: str


class TemplateError(ValueError):
    pass


def templates_dir() -> Path:
    return settings.REPLY_TEMPLATES_DIR


def _check_text(where: str, text: str, problems: list[str]) -> None:
    for name in PLACEHOLDER_RE.findall(text):
        if name not in PLACEHOLDERS:
            problems.append(f"{where}: unknown placeholder {{{name}}} (use {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")


def load(directory: Path | None = None) -> tuple[dict[str, dict[str, ReplyTemplate]], list[str]]:
    """{lang: {id: template}} for every language, and the problems found (file: what is wrong)."""
    directory = directory or templates_dir()
    found: dict[str, dict[str, ReplyTemplate]] = {}
    problems: list[str] = []
    for lang in settings.LANGUAGES:
        path = directory / f"{lang}.yml"
        if not path.is_file():
            problems.append(f"{path}: missing (every language needs its reply templates)")
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not valid YAML ({exc})")
            continue
        if not isinstance(data, dict) or not data:
            problems.append(f"{path}: must map template ids to {{title, subject, body}}")
            continue
        found[lang] = {}
        for template_id, entry in data.items():
            where = f"{path}: {template_id}"
            if not isinstance(template_id, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", template_id):
                problems.append(f"{where}: ids are lower-case letters, digits and _")
                continue
            if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k].strip() for k in ("title", "subject", "body")):
                problems.append(f"{where}: needs title, subject and body (text)")
                continue
            if "\n" in entry["subject"].strip() or len(entry["subject"]) > MAX_SUBJECT:
                problems.append(f"{where}: the subject must be one line of at most {MAX_SUBJECT} characters")
            if len(entry["body"]) > MAX_BODY:
                problems.append(f"{where}: the body is longer than {MAX_BODY} characters")
            for key in ("subject", "body"):
                _check_text(f"{where}.{key}", entry[key], problems)
            found[lang][template_id] = ReplyTemplate(template_id, lang, entry["title"].strip(), entry["subject"].strip(),
                                                     entry["body"].rstrip() + "\n")
    ids = {lang: set(templates) for lang, templates in found.items()}
    every = set().union(*ids.values()) if ids else set()
    for lang, have in ids.items():
        for missing in sorted(every - have):
            problems.append(f"{directory / (lang + '.yml')}: template {missing} is missing (the other languages have it)")
    return found, problems


def fill(text: str, *, name: str, reference: str, staff: str) -> str:
    values = {"name": name, "reference": reference, "staff": staff}
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def unfilled(body: str) -> bool:
    """The reply still has a [write your answer here] line from its template."""
    return bool(FILL_IN_RE.search(body))


def main() -> int:
    templates, problems = load()
    for problem in problems:
        print(f"error: {problem}")
    if problems:
        return 1
    count = sum(len(t) for t in templates.values())
    print(f"==> reply templates: {count} in {len(templates)} languages, all valid ({templates_dir()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
