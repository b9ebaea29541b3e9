"""Data quality: countries as ISO codes (typed names in five languages mapped, older free text mapped
by a data migration), search that ignores case and accents and finds phone numbers on SQLite and
PostgreSQL, and a CSV with words instead of codes, phone numbers Excel keeps, and the notes."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import create_engine, select, text

from tests.conftest import create_staff, csrf_token, staff_login
from web.leads import db
from web.leads.models import Lead
from web.leads.search import fold

XSS = "<script>alert('xss')</script>"


@pytest.fixture()
def client(staff_app, leads_db):
    create_staff(leads_db)
    c = staff_app.test_client()
    assert staff_login(c).status_code == 302
    return c


def html_of(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def refs_in(html: str) -> list[str]:
    return re.findall(r'name="ref" value="(ML-[0-9A-Z]{4})"', html)


def country_of(url: str, reference: str) -> str:
    with db.session_scope(url) as s:
        return s.scalar(select(Lead.country).where(Lead.reference == reference))


def test_country_names_in_five_languages_are_one_country_in_filters_and_charts(client, make_lead, leads_db):
    refs = [make_lead(country=typed) for typed in ("Polska", "Lenkija", "Polija", "Poland", "Polen", "POLSKA", "polska", "PL")]
    assert {country_of(leads_db, r) for r in refs} == {"PL"}
    assert country_of(leads_db, make_lead(country="Lietuva")) == "LT" and country_of(leads_db, make_lead(country="Łotwa")) == "LV"
    html = html_of(client, "/staff/leads")
    assert html.count('<option value="PL">Poland</option>') == 1 and "Polska" not in html
    assert sorted(refs_in(html_of(client, "/staff/leads?country=PL"))) == sorted(refs)
    insights = html_of(client, "/staff/insights")
    assert insights.count('<th scope="col">Poland</th>') == 1 and '<th scope="col">PL</th>' not in insights


def test_an_unrecognised_country_is_kept_as_typed_and_staff_can_pick_one(client, make_lead, leads_db):
    reference = make_lead(country=f"Atlantis {XSS}")
    assert country_of(leads_db, reference) == f"Atlantis {XSS}"
    detail = f"/staff/leads/{reference}"
    html = html_of(client, detail)
    assert "not recognised as a country" in html and "<script>alert" not in html
    for bad in ("", "XX", XSS, "PL' OR 1=1"):
        response = client.post(f"{detail}/country", data={"country-country": bad, "country-csrf_token": csrf_token(client, detail)})
        assert response.status_code == 400
    assert client.post(f"{detail}/country", data={"country-country": "UA", "country-csrf_token": csrf_token(client, detail)}).status_code == 302
    assert country_of(leads_db, reference) == "UA" and "Ukraine" in html_of(client, detail)


@pytest.mark.parametrize("query", ["Żółkiewska", "żółkiewska", "ŻÓŁKIEWSKA", "Zolkiewska", "zolk", "ZOŁKIEW"])
def test_search_ignores_case_and_accents(client, make_lead, query):
    wanted = make_lead(name="Maria Żółkiewska", email="maria@example.pl", phone=None)
    make_lead(name="Maria Kowalska", email="kowalska@example.pl", phone=None)
    assert refs_in(html_of(client, f"/staff/leads?q={query}")) == [wanted]


def test_search_finds_latvian_and_lithuanian_names_emails_references_and_phones(client, make_lead):
    janis = make_lead(name="Jānis Bērziņš", email="Janis.Berzins@Piemers.LV", phone="+371 2012 3456")
    ona = make_lead(name="Ona Petraitienė", email="ona@pavyzdys.lt", phone="+370 612 34567")
    for query, expected in [("berzins", janis), ("BĒRZIŅŠ", janis), ("janis.berzins@piemers.lv", janis), ("petraitiene", ona),
                            ("20123456", janis), ("2012 3456", janis), ("+371 2012", janis), ("612-34567", ona), ("(612) 34567", ona),
                            (ona.lower(), ona), (janis, janis)]:
        assert refs_in(html_of(client, f"/staff/leads?q={query.replace('+', '%2B')}")) == [expected], query
    assert refs_in(html_of(client, "/staff/leads?q=99999999")) == []
    for hostile in ("%", "_", "' OR 1=1 --", XSS):
        assert refs_in(html_of(client, f"/staff/leads?q={hostile}")) == []


def test_search_text_follows_changes_and_merges(client, make_lead, leads_db):
    reference = make_lead(name="Anna Nowak", email="anna@example.pl")
    with db.session_scope(leads_db) as s:
        s.scalar(select(Lead).where(Lead.reference == reference)).name = "Anna Łęcka"
    assert refs_in(html_of(client, "/staff/leads?q=lecka")) == [reference]


def test_the_csv_has_words_phone_numbers_as_text_and_notes(client, make_lead, leads_db, kb):
    reference = make_lead(country="Polska", household="children", move_when="half_year", preferred_language="pl", phone="+48 601 234 567")
    detail = f"/staff/leads/{reference}"
    client.post(f"{detail}/notes", data={"note-body": "Zadzwonić w czwartek.", "note-csrf_token": csrf_token(client, detail)})
    client.post(f"{detail}/notes", data={"note-body": "=HYPERLINK(\"http://evil\")", "note-csrf_token": csrf_token(client, detail)})
    client.post(f"{detail}/status", data={"status-status": "in_progress", "status-csrf_token": csrf_token(client, detail)})
    response = client.post("/staff/leads/export", data={"ref": [reference], "scope": "selected", "csrf_token": csrf_token(client, "/staff/leads")})
    raw = response.get_data().decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(raw), delimiter=";"))
    assert row["status"] == "In progress" and row["country"] == "Poland" and row["preferred_language"] == "Polish"
    assert row["move_when"] == kb.phrase("move_half_year", "en") and row["household"] == kb.phrase("household_children", "en")
    assert "half_year" not in raw and row["source"] == "Chat"
    assert row["phone"] == '="+48601234567"'  # Excel shows +48601234567 as text
    assert "handlaggare@lulea.se: Zadzwonić w czwartek." in row["notes"]
    assert not row["notes"].startswith(("=", "+", "-", "@"))  # a cell never starts a formula


def test_a_formula_note_first_is_neutralised(client, make_lead):
    reference = make_lead()
    detail = f"/staff/leads/{reference}"
    client.post(f"{detail}/notes", data={"note-body": "=1+1", "note-csrf_token": csrf_token(client, detail)})
    response = client.post("/staff/leads/export", data={"ref": [reference], "scope": "selected", "csrf_token": csrf_token(client, "/staff/leads")})
    [row] = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
    assert not row["notes"].startswith(("=", "+", "-", "@"))


def test_older_leads_get_codes_and_search_text_from_the_data_migration(tmp_path):
    from alembic import command

    from web.leads.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        for i, (name, country) in enumerate([("Łucja Żemaitytė", "Lenkija"), ("Jānis", "Latvija "), ("Olle", "Sverige"), ("X", "Narnia")]):
            conn.execute(text("INSERT INTO leads (reference, created_at, status, name, email, phone, country, profession, household, "
                              "move_when, preferred_language, chat_language, source) VALUES (:r, '2026-11-01 10:00:00', 'new', :n, "
                              ":e, '+48601234567', :c, '', 'alone', 'soon', 'pl', 'pl', 'chat')"),
                         {"r": f"ML-000{i}", "n": name, "e": f"p{i}@example.pl", "c": country})
    engine.dispose()
    command.upgrade(alembic_config(url), "head")
    with db.session_scope(url) as s:
        leads = {lead.reference: lead for lead in s.scalars(select(Lead))}
        assert [leads[f"ML-000{i}"].country for i in range(4)] == ["PL", "LV", "SE", "Narnia"]
        assert fold("Łucja Żemaitytė") in leads["ML-0000"].search_text and "48601234567" in leads["ML-0000"].search_text
    db.dispose(url)
