"""The lead list's query: filters, free-text search, sorting and pagination, from LeadFilterForm data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from web.leads.models import Lead, LeadTopic
from web.leads.search import query_terms
from web.leads.workflow import with_duplicates

STAFF_TZ = ZoneInfo("Europe/Stockholm")
SORT_COLUMNS = {"created": Lead.created_at, "reference": Lead.reference, "name": Lead.name, "country": Lead.country,
                "status": Lead.status}


@dataclass
class Filters:
    q: str | None = None
    status: str | None = None
    country: str | None = None
    topic: str | None = None
    language: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "created"
    direction: str = "desc"
    view: str | None = None  # mine, unassigned, overdue, duplicates
    staff_id: int | None = None  # who "mine" is
    overdue_since: datetime | None = None  # new leads that arrived at or before this are overdue


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=STAFF_TZ)


def filtered(filters: Filters) -> Select:
    query = select(Lead)
    if filters.q:  # case and accents ignored (web.leads.search), phone numbers by their digits
        folded, phone = query_terms(filters.q)
        matches = [Lead.search_text.contains(folded, autoescape=True)] if folded else []
        if phone:
            matches.append(Lead.search_text.contains(phone, autoescape=True))
        query = query.where(or_(*matches)) if matches else query
    if filters.view == "mine":
        query = query.where(Lead.assigned_to_id == filters.staff_id)
    elif filters.view == "unassigned":
        query = query.where(Lead.assigned_to_id.is_(None), Lead.status != "closed")
    elif filters.view == "overdue" and filters.overdue_since is not None:
        query = query.where(Lead.status == "new", Lead.created_at <= filters.overdue_since)
    elif filters.view == "duplicates":
        query = query.where(Lead.id.in_(with_duplicates()))
    if filters.status:
        query = query.where(Lead.status == filters.status)
    if filters.country:
        query = query.where(Lead.country == filters.country)
    if filters.language:
        query = query.where(Lead.preferred_language == filters.language)
    if filters.topic:
        query = query.where(Lead.id.in_(select(LeadTopic.lead_id).where(LeadTopic.topic == filters.topic)))
    if filters.date_from:
        query = query.where(Lead.created_at >= _local_midnight(filters.date_from))
    if filters.date_to:
        query = query.where(Lead.created_at < _local_midnight(filters.date_to + timedelta(days=1)))
    return query


def ordered(query: Select, filters: Filters) -> Select:
    column = SORT_COLUMNS.get(filters.sort, Lead.created_at)
    primary = column.asc() if filters.direction == "asc" else column.desc()
    return query.order_by(primary, Lead.id.desc())


@dataclass
class Page:
    leads: list[Lead]
    total: int
    page: int
    pages: int


def page_of(session: Session, filters: Filters, page: int, size: int) -> Page:
    base = filtered(filters)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // size))
    page = min(max(page, 1), pages)
    leads = session.scalars(ordered(base, filters).options(selectinload(Lead.topics), selectinload(Lead.assigned_to))
                            .limit(size).offset((page - 1) * size)).all()
    return Page(list(leads), total, page, pages)


def countries(session: Session) -> list[str]:
    return list(session.scalars(select(Lead.country).distinct().order_by(Lead.country)))
