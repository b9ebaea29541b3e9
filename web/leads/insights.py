"""Figures for the insights page: leads per week by country and by topic, the answer rate per
language, and the questions the bot most often could not answer (so editors know what to add).

Aggregation happens in Python over a bounded period, so the same code runs on SQLite and
PostgreSQL (their date functions differ) and counts are by ISO week in Swedish time.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from web.leads.models import ChatTurn, Lead, LeadTopic, utcnow

STAFF_TZ = ZoneInfo("Europe/Stockholm")
UNANSWERED = ("decline", "out_of_scope")


@dataclass
class Insights:
    weeks: list[str]  # "2026-W47", oldest first
    by_country: dict[str, list[int]]  # country -> count per week
    by_topic: dict[str, list[int]]
    answer_rate: dict[str, tuple[int, int]]  # lang -> (answered, all turns)
    unanswered: list[tuple[str, int]]  # (example question, how often), most frequent first
    since: datetime


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _week_labels(since: datetime, now: datetime) -> list[str]:
    labels, day = [], since.astimezone(STAFF_TZ).date()
    end = now.astimezone(STAFF_TZ).date()
    while day <= end:
        label = week_label(day)
        if label not in labels:
            labels.append(label)
        day += timedelta(days=1)
    return labels


def question_key(text: str) -> str:
    """Questions that differ only in case, accents-as-typed, spacing or end punctuation count as one."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s?!.,;:¿¡]+", " ", text).strip()


def compute(session: Session, weeks: int = 12, now: datetime | None = None, top: int = 20) -> Insights:
    now = now or utcnow()
    start_day = (now.astimezone(STAFF_TZ) - timedelta(weeks=weeks - 1)).date()
    start_day -= timedelta(days=start_day.weekday())  # from a Monday
    since = datetime.combine(start_day, datetime.min.time(), tzinfo=STAFF_TZ)
    labels = _week_labels(since, now)
    index = {label: i for i, label in enumerate(labels)}

    by_country: dict[str, list[int]] = defaultdict(lambda: [0] * len(labels))
    for created, country in session.execute(select(Lead.created_at, Lead.country).where(Lead.created_at >= since)):
        by_country[country][index[week_label(created.astimezone(STAFF_TZ).date())]] += 1
    by_topic: dict[str, list[int]] = defaultdict(lambda: [0] * len(labels))
    rows = session.execute(select(Lead.created_at, LeadTopic.topic).join(LeadTopic, LeadTopic.lead_id == Lead.id)
                           .where(Lead.created_at >= since))
    for created, topic in rows:
        by_topic[topic][index[week_label(created.astimezone(STAFF_TZ).date())]] += 1

    answer_rate: dict[str, tuple[int, int]] = {}
    totals = session.execute(select(ChatTurn.lang, ChatTurn.decision, func.count()).where(ChatTurn.at >= since)
                             .group_by(ChatTurn.lang, ChatTurn.decision))
    for lang, decision, n in totals:
        answered, total = answer_rate.get(lang, (0, 0))
        answer_rate[lang] = (answered + (n if decision == "answer" else 0), total + n)

    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for (text,) in session.execute(select(ChatTurn.text).where(ChatTurn.at >= since, ChatTurn.decision.in_(UNANSWERED))):
        key = question_key(text)
        if key:
            counts[key] += 1
            example.setdefault(key, text)
    unanswered = [(example[k], n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
    return Insights(weeks=labels, by_country=dict(sorted(by_country.items())), by_topic=dict(sorted(by_topic.items())),
                    answer_rate=dict(sorted(answer_rate.items())), unanswered=unanswered, since=since)
