"""The shape of the knowledge files, as pydantic models (docs/knowledge-format.md explains it)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from settings import LANGUAGES

MIN_QUESTIONS = 12
ANSWER_SOFT_LIMIT = 700
DETAILS_SOFT_LIMIT = 1500
TITLE_LIMIT = 80

_URL = re.compile(r"^https?://[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?::\d+)?(?:[/?#][^\s<>\"']*)?$", re.I)
_TOPIC_ID = re.compile(r"^[a-z]+(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)+$")


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _url(value: str) -> str:
    value = value.strip()
    if not _URL.match(value):
        raise ValueError(f"{value!r} is not a valid http(s) URL")
    return value


def _topic_id(value: str) -> str:
    if not _TOPIC_ID.match(value):
        raise ValueError(f"{value!r} is not a topic id like 'housing.rent'")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
Url = Annotated[str, AfterValidator(_url)]
TopicId = Annotated[str, AfterValidator(_topic_id)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(Strict):
    url: Url
    name: Text


class LanguageEntry(Strict):
    title: Annotated[Text, Field(max_length=TITLE_LIMIT)]
    answer: Text
    details: Text | None = None
    questions: Annotated[list[Text], Field(min_length=MIN_QUESTIONS)]


class Topic(Strict):
    id: TopicId
    owner: Text
    last_reviewed: dt.date
    related: list[TopicId] = []
    sources: Annotated[list[Source], Field(min_length=1)]
    # statements that Luleå kommun's data protection officer, or the relocation team, must confirm
    # before they are final; `knowledge check` lists them as notes (see docs/knowledge-format.md)
    confirm_with_dpo: list[Text] = []
    confirm_with_team: list[Text] = []
    en: LanguageEntry
    sv: LanguageEntry
    pl: LanguageEntry
    lt: LanguageEntry
    lv: LanguageEntry

    def entry(self, lang: str) -> LanguageEntry:
        return getattr(self, lang)


Localized = dict[str, Text]


class OutOfScopeCategory(Strict):
    pointer: Source | None = None
    reply: Localized
    examples: dict[str, Annotated[list[Text], Field(min_length=5)]]


class OutOfScope(Strict):
    categories: dict[str, OutOfScopeCategory]


# Conversation acts the assistant reads besides topic questions (knowledge/conversation.yml).
ACTS = ("greet", "goodbye", "thanks", "how_are_you", "who_are_you", "ack", "affirm", "deny", "dont_know",
        "talk_to_person", "cancel", "repair", "more_details", "browse_topics", "followup")
SAFETY_KINDS = ("emergency", "crisis", "not_emergency")
MIN_ACT_EXAMPLES = 8

PerLanguage = dict[str, Annotated[list[Text], Field(min_length=MIN_ACT_EXAMPLES)]]


class Conversation(Strict):
    acts: dict[str, PerLanguage]
    safety: dict[str, PerLanguage]


assert set(Topic.model_fields) >= set(LANGUAGES)
