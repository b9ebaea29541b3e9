"""The insights page: leads per week by country and topic, answer rate per language, the most
frequent unanswered questions, as SVG charts served from the app itself (no CDN, no script)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import create_staff, staff_login
from web.leads import db, insights
from web.leads.models import ChatTurn, Lead, utcnow
from web.leads.service import record_turn


@pytest.fixture()
def client(staff_app, leads_db):
    create_staff(leads_db)
    c = staff_app.test_client()
    staff_login(c)
    return c


def test_figures_per_week_language_and_question(leads_db, make_lead):
    a = make_lead(country="Poland", help_topics=("work", "housing"))
    make_lead(country="Poland", help_topics=("work",))
    make_lead(country="Latvia", help_topics=("education",))
    with db.session_scope(leads_db) as s:
        s.scalar(select(Lead).where(Lead.reference == a)).created_at = utcnow() - timedelta(weeks=2)
    for lang, text, decision in [("pl", "Gdzie jest SFI?", "answer"), ("pl", "Czy mogę przywieźć psa?", "decline"),
                                 ("pl", "czy mogę przywieźć psa", "out_of_scope"), ("lv", "Vai ir suns?", "decline"),
                                 ("lv", "Kur ir darbs?", "answer"), ("lv", "Kur ir skola?", "clarify"), ("en", "Pizza?", "decline")]:
        record_turn("s", lang, text, decision, None, database_url=leads_db)
    with db.session_scope(leads_db) as s:
        figures = insights.compute(s, weeks=4)
    assert len(figures.weeks) == 4
    assert figures.by_country["PL"][-1] == 1 and sum(figures.by_country["PL"]) == 2  # ISO codes (names on the page)
    assert sum(figures.by_country["LV"]) == 1
    assert sum(figures.by_topic["work"]) == 2 and sum(figures.by_topic["housing"]) == 1 and figures.by_topic["housing"][-1] == 0
    assert figures.answer_rate == {"en": (0, 1), "lv": (1, 3), "pl": (1, 3)}
    assert figures.unanswered[0] == ("Czy mogę przywieźć psa?", 2)
    assert {q for q, _ in figures.unanswered} == {"Czy mogę przywieźć psa?", "Vai ir suns?", "Pizza?"}


def test_old_turns_and_leads_fall_outside_the_period(leads_db, make_lead):
    old = make_lead(country="Lithuania")
    with db.session_scope(leads_db) as s:
        s.scalar(select(Lead).where(Lead.reference == old)).created_at = utcnow() - timedelta(weeks=10)
    record_turn("s", "lt", "senas klausimas", "decline", None, database_url=leads_db)
    with db.session_scope(leads_db) as s:
        s.scalar(select(ChatTurn)).at = utcnow() - timedelta(weeks=10)
        figures = insights.compute(s, weeks=4)
        assert "LT" not in figures.by_country and figures.unanswered == [] and figures.answer_rate == {}
        assert sum(insights.compute(s, weeks=12).by_country["LT"]) == 1


def test_the_page_shows_charts_and_tables_without_scripts_or_outside_assets(client, leads_db, make_lead):
    make_lead(country="Poland")
    record_turn("s", "pl", "Czy mogę przywieźć psa?", "decline", None, database_url=leads_db)
    record_turn("s", "pl", "Gdzie jest SFI?", "answer", None, database_url=leads_db)
    response = client.get("/staff/insights?weeks=26")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<svg") == 4 and "<script" not in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)  # every asset from this app
    for caption in ("Leads per week by country", "Leads per week by topic", "Answer rate per language",
                    "Most frequent unanswered questions"):
        assert caption in html
    assert "Czy mogę przywieźć psa?" in html and "<td>50 %</td>" in html
    assert client.get("/staff/insights?weeks=9999").status_code == 400
    assert client.get("/static/staff.css").status_code == 200


def test_the_schema_matches_the_models(leads_db):
    from alembic import command

    from web.leads.migrate import alembic_config

    command.check(alembic_config(leads_db))  # raises if a model change lacks a migration
