"""Load and validate the knowledge files into a KnowledgeBase, reporting problems by file and line."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import string
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError

from knowledge import editorial, yaml_lines
from knowledge.schema import ACTS, ANSWER_SOFT_LIMIT, DETAILS_SOFT_LIMIT, SAFETY_KINDS, Conversation, OutOfScope, Topic
from settings import LANGUAGES

# The bot's own sentences that the software uses; phrases.yml must define each in every language.
REQUIRED_PHRASES = (
    "greet goodbye thanks clarify decline out_of_scope related more_details no_more_details "
    "sources_label talk_to_person browse_topics topics_menu language_switched language_name "
    "ask_rephrase error_unavailable error_too_long start_over widget_open widget_title widget_close "
    "widget_placeholder widget_send widget_language widget_retry "
    # the chat widget (web/pages.py WIDGET_PHRASES) and its contact form (web/widget_api.py)
    "widget_launcher widget_typing widget_privacy widget_you widget_assistant widget_new_tab widget_conversation "
    "widget_quick_replies widget_back widget_loading widget_contact_open widget_contact_title widget_contact_intro "
    "widget_field_name widget_field_email widget_field_phone widget_field_country widget_field_profession "
    "widget_field_message help_topic_work help_topic_education help_topic_housing help_topic_admin help_topic_life "
    "help_topic_other widget_error_required widget_error_choose widget_invalid_phone widget_form_invalid "
    "widget_sending widget_reference widget_consent_changed widget_too_many widget_choose "
    # the contact request in the chat (actions/lead_form.py)
    "handoff_intro ask_name ask_email invalid_email ask_phone invalid_phone ask_country ask_profession ask_topics "
    "ask_household household_alone household_partner household_children ask_move_when move_soon move_half_year "
    "move_later ask_language ask_message ask_consent consent_yes consent_no consent_required confirm_summary "
    "lead_sent lead_cancelled lead_failed skip cancel correct_which help_done lead_topics_chosen lead_topics_invalid "
    "lead_field_required lead_invalid_name lead_invalid_text lead_invalid_choice lead_yes_no lead_confirm_ok "
    "lead_change lead_confirm_hint lead_not_given lead_label_name lead_label_email lead_label_phone lead_label_country "
    "lead_label_profession lead_label_topics lead_label_household lead_label_move_when lead_label_language "
    "lead_label_message lead_question_in_form "
    # the conversation (actions/answer.py): small talk, repair, safety
    "how_are_you who_are_you ack deny dont_know repair cancel_nothing emergency crisis "
    # the chat API's rate limit (web/api.py)
    "chat_too_many"
).split()

CATEGORY_ORDER = ("work", "education", "housing", "admin", "life", "service")


@dataclass(frozen=True)
class Issue:
    level: Literal["error", "warning"]
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.level}: {self.message}"


@dataclass(frozen=True)
class KnowledgeBase:
    topics: dict[str, Topic]
    phrases: dict[str, dict[str, str]]
    out_of_scope: OutOfScope
    conversation: Conversation
    fingerprint: str
    files: tuple[Path, ...] = field(repr=False)

    def phrase(self, key: str, lang: str, **values: object) -> str:
        text = self.phrases[key][lang]
        return text.format(**values) if values else text

    def title(self, topic_id: str, lang: str) -> str:
        return self.topics[topic_id].entry(lang).title


class KnowledgeError(Exception):
    """The knowledge files have errors; `issues` lists them (warnings included)."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        errors = [i for i in issues if i.level == "error"]
        super().__init__(f"{len(errors)} error(s) in the knowledge files; first: {errors[0]}")


def knowledge_files(root: Path) -> list[Path]:
    return sorted((root / "topics").glob("*.yml")) + [root / "phrases.yml", root / "out_of_scope.yml", root / "conversation.yml"]


def fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:16]


def normalise_question(text: str) -> str:
    """Case, accent and punctuation-insensitive form, to find the same question twice."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = folded.translate(str.maketrans("", "", string.punctuation + "¿¡«»„“”–—"))
    return " ".join(folded.split())


class _Collector:
    def __init__(self, root: Path):
        self.root = root
        self.issues: list[Issue] = []

    def add(self, level: Literal["error", "warning"], path: Path, line: int, message: str) -> None:
        try:
            shown = path.relative_to(self.root.parent)
        except ValueError:
            shown = path
        self.issues.append(Issue(level, shown, line, message))

    def read_yaml(self, path: Path):
        if not path.exists():
            self.add("error", path, 0, "file is missing")
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.add("error", path, 0, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})")
            return None
        try:
            data = yaml_lines.load(text)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            self.add("error", path, yaml_lines.error_line(exc), f"invalid YAML: {problem}")
            return None
        if not isinstance(data, dict):
            self.add("error", path, 1, "the file must be a YAML mapping (key: value)")
            return None
        return data

    def validation_errors(self, path: Path, data, exc: ValidationError) -> None:
        for err in exc.errors():
            loc = tuple(err["loc"])
            dotted = ".".join(str(p) for p in loc) or "(file)"
            message = err["msg"]
            if err["type"] == "missing":
                message = "is missing"
            elif err["type"] == "extra_forbidden":
                message = "is not a known field (typo?)"
            elif err["type"] == "too_short" and loc and loc[-1] == "questions":
                message = f"needs at least {err['ctx']['min_length']} example questions (has {len(err['input'])})"
            elif message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
            self.add("error", path, yaml_lines.line_of(data, loc), f"{dotted} {message}")


def _contract_ids(contract: Path | None) -> list[str] | None:
    if contract is None or not contract.exists():
        return None
    data = yaml.safe_load(contract.read_text(encoding="utf-8"))
    return [topic_id for group in data.values() for topic_id in group]


def load_knowledge(
    root: Path,
    contract: Path | None = None,
    today: dt.date | None = None,
    review_after_months: int = 6,
) -> tuple[KnowledgeBase | None, list[Issue]]:
    """Validate every knowledge file. Returns the knowledge base (None when there are errors)
    and every problem found, errors and warnings, in file order."""
    today = today or dt.date.today()
    out = _Collector(root)
    topics: dict[str, Topic] = {}
    raw_topics: dict[str, tuple[Path, object]] = {}

    topic_files = sorted((root / "topics").glob("*.yml"))
    for path in topic_files:
        data = out.read_yaml(path)
        if data is None:
            continue
        try:
            topic = Topic.model_validate(dict(data))
        except ValidationError as exc:
            out.validation_errors(path, data, exc)
            continue
        if topic.id != path.stem:
            out.add("error", path, yaml_lines.line_of(data, ("id",)), f"id {topic.id!r} must match the file name {path.stem!r}")
            continue
        topics[topic.id] = topic
        raw_topics[topic.id] = (path, data)

    known = _contract_ids(contract)
    if known is not None:
        for topic_id, (path, data) in raw_topics.items():
            if topic_id not in known:
                out.add("error", path, yaml_lines.line_of(data, ("id",)), f"unknown topic id {topic_id!r} (not in {contract.name}; add it there first)")
        for topic_id in known:
            if topic_id not in raw_topics and not (root / "topics" / f"{topic_id}.yml").exists():
                out.add("error", root / "topics" / f"{topic_id}.yml", 0, f"topic {topic_id!r} has no file")
    _check_topics(out, topics, raw_topics, today, review_after_months)

    phrases = _load_phrases(out, root / "phrases.yml")
    oos = _load_out_of_scope(out, root / "out_of_scope.yml")
    conversation = _load_conversation(out, root / "conversation.yml")
    if not any(i.level == "error" for i in out.issues):
        _check_editorial(out, root)

    files = knowledge_files(root)
    errors = any(i.level == "error" for i in out.issues)
    if errors or phrases is None or oos is None or conversation is None:
        return None, out.issues
    ordered = dict(sorted(topics.items(), key=lambda kv: _topic_order(kv[0], known)))
    return KnowledgeBase(ordered, phrases, oos, conversation, fingerprint(files), tuple(files)), out.issues


def _check_editorial(out: _Collector, root: Path) -> None:
    """The glossary (glossary.yml) and the translations to review (translations.yml)."""
    glossary, problem = editorial.load_glossary(root)
    if problem:
        out.add("error", root / editorial.GLOSSARY_FILE, 0, problem)
    elif glossary is not None:
        for finding in editorial.check_glossary(root, glossary):
            out.add(finding.level, finding.path, finding.line, finding.message)
    if not (root / editorial.TRANSLATIONS_FILE).exists():
        return
    for stale in editorial.stale_translations(root):
        hint = f"make knowledge-confirm UNIT={stale.unit} LANGS={stale.lang}"
        if stale.changed:
            why = f"the {' and '.join(stale.changed)} text changed since it was last reviewed"
        else:
            why = "it has never been confirmed"
        out.add("warning", stale.path, stale.line, f"{stale.unit}: {stale.lang} translation needs review: {why} (when done: {hint})")


def _topic_order(topic_id: str, known: list[str] | None) -> tuple:
    if known and topic_id in known:
        return (0, known.index(topic_id), topic_id)
    category = topic_id.split(".")[0]
    rank = CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)
    return (1, rank, topic_id)


def _months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month - (later.day < earlier.day)


def _line(data, *loc) -> int:
    return yaml_lines.line_of(data, loc)


def _check_topics(out: _Collector, topics: dict[str, Topic], raw: dict, today: dt.date, review_after: int) -> None:
    seen_questions: dict[str, tuple[str, str]] = {}
    for topic_id, topic in topics.items():
        path, data = raw[topic_id]
        at = functools.partial(_line, data)
        if topic.last_reviewed > today:
            out.add("error", path, at("last_reviewed"), f"last_reviewed {topic.last_reviewed} is in the future")
        elif _months_between(topic.last_reviewed, today) >= review_after:
            out.add("warning", path, at("last_reviewed"), f"not reviewed for {review_after}+ months (last {topic.last_reviewed}): check the facts against the sources")
        for i, related in enumerate(topic.related):
            if related not in topics and not (out.root / "topics" / f"{related}.yml").exists():
                out.add("error", path, at("related", i), f"related topic {related!r} does not exist")
            if related == topic_id:
                out.add("error", path, at("related", i), "a topic cannot be related to itself")
        for i, source in enumerate(topic.sources):
            if source.url.startswith("http://"):
                out.add("warning", path, at("sources", i, "url"), f"{source.url} is not https")
        for lang in LANGUAGES:
            entry = topic.entry(lang)
            if len(entry.answer) > ANSWER_SOFT_LIMIT:
                out.add("warning", path, at(lang, "answer"), f"{lang}.answer has {len(entry.answer)} characters: long for a chat bubble (aim for ≤ {ANSWER_SOFT_LIMIT}; move the rest to details)")
            if entry.details and len(entry.details) > DETAILS_SOFT_LIMIT:
                out.add("warning", path, at(lang, "details"), f"{lang}.details has {len(entry.details)} characters (aim for ≤ {DETAILS_SOFT_LIMIT})")
            for i, question in enumerate(entry.questions):
                key = normalise_question(question)
                previous = seen_questions.get(key)
                if previous and previous[0] != topic_id:
                    out.add("error", path, at(lang, "questions", i), f"example question {question!r} is also in {previous[0]} ({previous[1]}): an example must belong to one topic")
                elif previous:
                    out.add("warning", path, at(lang, "questions", i), f"example question {question!r} appears twice in this topic")
                else:
                    seen_questions[key] = (topic_id, lang)


_PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _load_phrases(out: _Collector, path: Path) -> dict[str, dict[str, str]] | None:
    data = out.read_yaml(path)
    if data is None:
        return None
    ok = True
    for key in REQUIRED_PHRASES:
        if key not in data:
            out.add("error", path, 0, f"phrase {key!r} is missing")
            ok = False
    phrases: dict[str, dict[str, str]] = {}
    for key, texts in data.items():
        line = data.key_lines.get(key, 0)
        if str(key).startswith("_"):
            # editors' notes such as _confirm_with_dpo: {phrase key: what to confirm}
            if not isinstance(texts, dict) or any(k not in data for k in texts):
                out.add("error", path, line, f"{key} must map phrase keys of this file to a note")
                ok = False
            continue
        if not isinstance(texts, dict):
            out.add("error", path, line, f"phrase {key!r} must map each language to a text")
            ok = False
            continue
        placeholders = None
        for lang in LANGUAGES:
            text = texts.get(lang)
            if not isinstance(text, str) or not text.strip():
                out.add("error", path, yaml_lines.line_of(data, (key, lang)) or line, f"phrase {key}.{lang} is missing or empty")
                ok = False
                continue
            names = sorted(set(_PLACEHOLDER.findall(text)))
            if placeholders is None:
                placeholders = names
            elif names != placeholders:
                out.add("error", path, yaml_lines.line_of(data, (key, lang)), f"phrase {key}.{lang} has placeholders {names}, other languages {placeholders}")
                ok = False
        for extra in set(texts) - set(LANGUAGES):
            out.add("error", path, yaml_lines.line_of(data, (key, extra)), f"phrase {key}: unknown language {extra!r}")
            ok = False
        phrases[key] = {lang: str(texts.get(lang, "")).strip() for lang in LANGUAGES}
    return phrases if ok else None


def _validated(out: _Collector, path: Path, model):
    """(the file's YAML, the model it validates to), or (None, None) after reporting why not."""
    data = out.read_yaml(path)
    if data is None:
        return None, None
    try:
        return data, model.model_validate(dict(data))
    except ValidationError as exc:
        out.validation_errors(path, data, exc)
        return None, None


def _load_out_of_scope(out: _Collector, path: Path) -> OutOfScope | None:
    data, oos = _validated(out, path, OutOfScope)
    if oos is None:
        return None
    ok = True
    for name, category in oos.categories.items():
        for part in ("reply", "examples"):
            missing = [lang for lang in LANGUAGES if lang not in getattr(category, part)]
            if missing:
                out.add("error", path, yaml_lines.line_of(data, ("categories", name, part)), f"categories.{name}.{part} misses language(s) {', '.join(missing)}")
                ok = False
    return oos if ok else None


def _load_conversation(out: _Collector, path: Path) -> Conversation | None:
    """Conversation acts and safety examples: every act and kind in every language."""
    data, conversation = _validated(out, path, Conversation)
    if conversation is None:
        return None
    ok = True
    for part, names in (("acts", ACTS), ("safety", SAFETY_KINDS)):
        found = getattr(conversation, part)
        for name in names:
            if name not in found:
                out.add("error", path, yaml_lines.line_of(data, (part,)), f"{part}.{name} is missing")
                ok = False
                continue
            missing = [lang for lang in LANGUAGES if lang not in found[name]]
            if missing:
                out.add("error", path, yaml_lines.line_of(data, (part, name)), f"{part}.{name} misses language(s) {', '.join(missing)}")
                ok = False
        for name in set(found) - set(names):
            out.add("error", path, yaml_lines.line_of(data, (part, name)), f"unknown {part[:-1] if part == 'acts' else 'safety kind'} {name!r} (known: {', '.join(names)})")
            ok = False
    return conversation if ok else None
