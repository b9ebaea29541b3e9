"""Editorial checks beside the schema: the glossary (knowledge/glossary.yml), translation tracking
(knowledge/translations.yml) and the statements still to be confirmed (confirm_with_dpo/_team).

- Glossary: one term per concept per language. A variant listed under `not` is an error; a Swedish
  name listed under `glosses` must be explained once in the reader's language in every answer that
  uses it (a warning otherwise).
- Translation tracking, like gettext's "fuzzy": for every text unit (a topic's title, answer and
  details; a phrase; an out-of-scope reply) translations.yml records which version of the source
  texts (en and sv) each language was last reviewed against. When an en or sv text changes, the
  other languages of that unit are listed as needing review until an editor confirms them with
  `python -m knowledge confirm` (`make knowledge-confirm`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge import yaml_lines
from settings import LANGUAGES

GLOSSARY_FILE = "glossary.yml"
TRANSLATIONS_FILE = "translations.yml"
SOURCE_LANGUAGES = ("en", "sv")
TOPIC_FIELDS = ("title", "answer", "details")


# --- text units -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    """One translatable text in five languages, and where each language's text is."""

    key: str                          # "admin.bank", "phrase:ask_consent", "out_of_scope:medical"
    path: Path
    texts: dict[str, str]             # language -> the text (a topic's fields joined)
    lines: dict[str, int]             # language -> line of that language's text


def _read(path: Path):
    try:
        return yaml_lines.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def text_units(root: Path) -> list[Unit]:
    """Every translatable unit of the knowledge files (files that do not parse are skipped:
    the loader reports them)."""
    units: list[Unit] = []
    for path in sorted((root / "topics").glob("*.yml")):
        data = _read(path)
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            continue
        texts, lines = {}, {}
        for lang in LANGUAGES:
            entry = data.get(lang)
            if not isinstance(entry, dict):
                continue
            texts[lang] = "\n\n".join(str(entry.get(f) or "").strip() for f in TOPIC_FIELDS)
            lines[lang] = yaml_lines.line_of(data, (lang, "answer"))
        units.append(Unit(data["id"], path, texts, lines))
    path = root / "phrases.yml"
    data = _read(path)
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).startswith("_") or not isinstance(value, dict):
                continue
            texts = {lang: str(value[lang]).strip() for lang in LANGUAGES if isinstance(value.get(lang), str)}
            lines = {lang: yaml_lines.line_of(data, (key, lang)) for lang in texts}
            units.append(Unit(f"phrase:{key}", path, texts, lines))
    path = root / "out_of_scope.yml"
    data = _read(path)
    if isinstance(data, dict) and isinstance(data.get("categories"), dict):
        for name, category in data["categories"].items():
            reply = category.get("reply") if isinstance(category, dict) else None
            if not isinstance(reply, dict):
                continue
            texts = {lang: str(reply[lang]).strip() for lang in LANGUAGES if isinstance(reply.get(lang), str)}
            lines = {lang: yaml_lines.line_of(data, ("categories", name, "reply", lang)) for lang in texts}
            units.append(Unit(f"out_of_scope:{name}", path, texts, lines))
    return units


# --- translation tracking -------------------------------------------------------------------------

def text_hash(text: str) -> str:
    """A short fingerprint of a text; changes of spacing or line wrapping do not count."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:10]


def sources_of(lang: str) -> tuple[str, ...]:
    """The languages a translation into `lang` is reviewed against (en and sv, never itself)."""
    return tuple(s for s in SOURCE_LANGUAGES if s != lang)


def load_reviews(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    path = root / TRANSLATIONS_FILE
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


@dataclass(frozen=True)
class Stale:
    unit: str
    lang: str
    changed: tuple[str, ...]          # the source languages whose text changed ("" when never reviewed)
    path: Path
    line: int


def stale_translations(root: Path, units: list[Unit] | None = None) -> list[Stale]:
    """The translations that need review because an en or sv source text changed since they were
    last confirmed (or that were never confirmed). The staff pages can list these too."""
    reviews = load_reviews(root)
    found: list[Stale] = []
    for unit in units if units is not None else text_units(root):
        recorded = reviews.get(unit.key, {})
        for lang in LANGUAGES:
            if lang not in unit.texts:
                continue
            against = recorded.get(lang)
            if not isinstance(against, dict):
                found.append(Stale(unit.key, lang, (), unit.path, unit.lines.get(lang, 0)))
                continue
            changed = tuple(s for s in sources_of(lang) if s in unit.texts and against.get(s) != text_hash(unit.texts[s]))
            if changed:
                found.append(Stale(unit.key, lang, changed, unit.path, unit.lines.get(lang, 0)))
    return found


def confirm(root: Path, keys: list[str] | None = None, langs: list[str] | None = None) -> list[tuple[str, str]]:
    """Record that the translations of `keys` (all units when None) into `langs` (all when None)
    were reviewed against the current en and sv texts. Returns the (unit, language) pairs written."""
    units = text_units(root)
    known = {u.key for u in units}
    unknown = [k for k in keys or [] if k not in known]
    if unknown:
        raise KeyError(", ".join(unknown))
    reviews = load_reviews(root)
    done = []
    for unit in units:
        if keys and unit.key not in keys:
            continue
        entry = reviews.setdefault(unit.key, {})
        for lang in LANGUAGES:
            if lang not in unit.texts or (langs and lang not in langs):
                continue
            entry[lang] = {s: text_hash(unit.texts[s]) for s in sources_of(lang) if s in unit.texts}
            done.append((unit.key, lang))
    order = {u.key: i for i, u in enumerate(units)}
    _write_reviews(root, dict(sorted(reviews.items(), key=lambda kv: order.get(kv[0], len(order)))))
    return done


def _write_reviews(root: Path, reviews: dict) -> None:
    lines = [
        "# Translation reviews: for each text unit and language, the versions of the source texts (en, sv)",
        "# that the translation was last checked against. Written by `make knowledge-confirm`; not edited",
        "# by hand. `make knowledge-check` lists translations whose source changed since.",
    ]
    for key, entry in reviews.items():
        lines.append(f"{key}:")
        for lang in LANGUAGES:
            if lang in entry:
                pairs = ", ".join(f"{s}: '{h}'" for s, h in entry[lang].items())
                lines.append(f"  {lang}: {{{pairs}}}")
    (root / TRANSLATIONS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- glossary -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    concept: str
    lang: str
    use: str
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...]          # phrases in which a forbidden form is fine (proper names)


def _pattern(term: str, flags=0) -> re.Pattern:
    """A whole-word pattern: * matches any letters (an ending), a space any spacing, | separates alternatives."""
    alternatives = []
    for part in term.split("|"):
        words = [r"\w*".join(re.escape(piece) for piece in word.split("*")) for word in part.split()]
        alternatives.append(r"\s+".join(words))
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w])", flags)


@dataclass(frozen=True)
class Glossary:
    rules: tuple[Rule, ...]
    glosses: dict[str, dict[str, tuple[str, ...]]]   # Swedish name -> language -> explanations


def load_glossary(root: Path) -> tuple[Glossary | None, str | None]:
    path = root / GLOSSARY_FILE
    if not path.exists():
        return None, None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return None, f"invalid YAML: {getattr(exc, 'problem', exc)}"
    rules = []
    for concept, per_lang in (data.get("terms") or {}).items():
        for lang, rule in (per_lang or {}).items():
            if lang not in LANGUAGES or not isinstance(rule, dict) or "use" not in rule:
                return None, f"terms.{concept}.{lang}: needs a language code ({', '.join(LANGUAGES)}) with `use:`"
            rules.append(Rule(str(concept), lang, str(rule["use"]), tuple(map(str, rule.get("not") or [])), tuple(map(str, rule.get("except") or []))))
    glosses = {}
    for name, per_lang in (data.get("glosses") or {}).items():
        glosses[str(name)] = {lang: tuple(map(str, words or [])) for lang, words in (per_lang or {}).items()}
    return Glossary(tuple(rules), glosses), None


def _mask(text: str, phrases: tuple[str, ...]) -> str:
    for phrase in phrases:
        text = re.sub(re.escape(phrase), lambda m: " " * len(m.group()), text)
    return text


def _line_in_file(file_lines: list[str], start: int, needle: str) -> int:
    """The line, at or after `start`, that holds `needle` (its first 30 characters)."""
    probe = needle[:30]
    for number in range(max(start, 1), len(file_lines) + 1):
        if probe in file_lines[number - 1]:
            return number
    return start


@dataclass(frozen=True)
class Finding:
    level: str
    path: Path
    line: int
    message: str


def _fields(root: Path):
    """(path, file lines, line of the field, language, field name, text, answer text or None) for
    every reader-facing text: topic titles, answers and details, phrases, out-of-scope replies."""
    for path in sorted((root / "topics").glob("*.yml")):
        data = _read(path)
        if not isinstance(data, dict):
            continue
        file_lines = path.read_text(encoding="utf-8").splitlines()
        for lang in LANGUAGES:
            entry = data.get(lang)
            if not isinstance(entry, dict):
                continue
            answer = str(entry.get("answer") or "")
            for field in TOPIC_FIELDS:
                if isinstance(entry.get(field), str):
                    yield path, file_lines, yaml_lines.line_of(data, (lang, field)), lang, f"{lang}.{field}", entry[field], (answer if field == "details" else None)
    path = root / "phrases.yml"
    data = _read(path)
    if isinstance(data, dict):
        file_lines = path.read_text(encoding="utf-8").splitlines()
        for key, texts in data.items():
            if str(key).startswith("_") or not isinstance(texts, dict):
                continue
            for lang in LANGUAGES:
                if isinstance(texts.get(lang), str):
                    yield path, file_lines, yaml_lines.line_of(data, (key, lang)), lang, f"{key}.{lang}", texts[lang], None
    path = root / "out_of_scope.yml"
    data = _read(path)
    if isinstance(data, dict) and isinstance(data.get("categories"), dict):
        file_lines = path.read_text(encoding="utf-8").splitlines()
        for name, category in data["categories"].items():
            reply = category.get("reply") if isinstance(category, dict) else None
            if not isinstance(reply, dict):
                continue
            for lang in LANGUAGES:
                if isinstance(reply.get(lang), str):
                    line = yaml_lines.line_of(data, ("categories", name, "reply", lang))
                    yield path, file_lines, line, lang, f"categories.{name}.reply.{lang}", reply[lang], None


def check_glossary(root: Path, glossary: Glossary) -> list[Finding]:
    findings: list[Finding] = []
    by_lang: dict[str, list[tuple[Rule, re.Pattern]]] = {}
    for rule in glossary.rules:
        for form in rule.forbidden:
            by_lang.setdefault(rule.lang, []).append((rule, _pattern(form)))
    gloss_patterns = {name: {lang: _pattern("|".join(words), re.I) for lang, words in per_lang.items() if words}
                      for name, per_lang in glossary.glosses.items()}
    name_patterns = {name: _pattern(name) for name in glossary.glosses}
    for path, file_lines, line, lang, where, text, answer in _fields(root):
        for rule, pattern in by_lang.get(lang, ()):
            masked = _mask(text, rule.allowed)
            for match in pattern.finditer(masked):
                at = _line_in_file(file_lines, line, text[max(0, match.start() - 10):match.end()].strip() or match.group())
                findings.append(Finding("error", path, at, f"{where}: write {rule.use!r}, not {match.group()!r} (glossary: {rule.concept})"))
                break
        if not (where.endswith(".answer") or where.endswith(".details") or where.startswith("categories.")):
            continue
        for name, per_lang in gloss_patterns.items():
            gloss = per_lang.get(lang)
            if gloss is None or not name_patterns[name].search(text):
                continue
            if gloss.search(text) or (answer is not None and gloss.search(answer)):
                continue
            at = _line_in_file(file_lines, line, name)
            findings.append(Finding("warning", path, at, f"{where} uses {name!r} without explaining it in {lang}: add it once, e.g. {glossary.glosses[name][lang][0].replace('*', '…')!r} (glossary)"))
    return findings


# --- statements to confirm ------------------------------------------------------------------------

def open_confirmations(root: Path) -> list[str]:
    """The confirm_with_dpo / confirm_with_team items of topics and phrases, as one line each."""
    notes = []
    for path in sorted((root / "topics").glob("*.yml")):
        data = _read(path)
        if not isinstance(data, dict):
            continue
        for who in ("dpo", "team"):
            for i, item in enumerate(data.get(f"confirm_with_{who}") or []):
                notes.append(f"{path.relative_to(root.parent)}:{yaml_lines.line_of(data, (f'confirm_with_{who}', i))}: to confirm with the {who.upper() if who == 'dpo' else 'relocation team'}: {item}")
    path = root / "phrases.yml"
    data = _read(path)
    if isinstance(data, dict):
        for who in ("dpo", "team"):
            for key, item in (data.get(f"_confirm_with_{who}") or {}).items():
                notes.append(f"{path.relative_to(root.parent)}:{yaml_lines.line_of(data, (f'_confirm_with_{who}', key))}: to confirm with the {who.upper() if who == 'dpo' else 'relocation team'}: {key}: {item}")
    return notes
