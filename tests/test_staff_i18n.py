"""The staff pages in Swedish (the default for accounts) with English as the second language, chosen
per user; every text has its Swedish translation; insights show readable names, not codes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

import settings
from tests.conftest import create_staff, csrf_token, staff_login
from web.leads.service import record_turn
from web.staff.i18n import SOURCE

PO = SOURCE / "sv" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_every_text_of_the_staff_pages_has_a_swedish_translation_with_the_same_placeholders(tmp_path):
    pot = tmp_path / "staff.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "web/staff/babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-o", str(pot), "."], cwd=settings.ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    with PO.open("rb") as f:
        catalog = read_po(f, locale="sv")
    have = {}
    for m in catalog:
        if m.id:
            have[m.id if isinstance(m.id, str) else m.id[0]] = m.string if isinstance(m.string, str) else m.string[-1]
    missing = sorted(i for i in wanted if not have.get(i))
    assert missing == [], f"texts without a Swedish translation (see web/staff/i18n.py): {missing}"
    for msgid, msgstr in have.items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def login(app, url: str, email: str, language: str):
    create_staff(url, email, "a long enough password", language=language)
    client = app.test_client()
    assert staff_login(client, email, "a long enough password").status_code == 302
    return client


def test_a_swedish_staff_member_works_in_swedish_with_readable_names(staff_app, leads_db, make_lead, kb):
    reference = make_lead(country="Polska", help_topics=("work", "housing"), move_when="half_year")
    record_turn("s", "pl", "Czy mogę przywieźć psa?", "decline", None, database_url=leads_db)
    client = login(staff_app, leads_db, "anna@lulea.se", "sv")
    html = client.get("/staff/leads").get_data(as_text=True)
    assert '<html lang="sv">' in html and "<h1>Ärenden</h1>" in html and "Mina ärenden" in html and "Polen" in html
    assert kb.phrase("help_topic_work", "sv") in html and "Sök namn, e-post, telefon eller referens" in html
    detail = client.get(f"/staff/leads/{reference}").get_data(as_text=True)
    assert "Hantera ärendet" in detail and "Svar till inflyttaren" in detail and kb.phrase("move_half_year", "sv") in detail
    insights = client.get("/staff/insights").get_data(as_text=True)
    assert "<h1>Statistik</h1>" in insights and '<th scope="col">Polen</th>' in insights
    assert f'<th scope="col">{kb.phrase("help_topic_housing", "sv")}</th>' in insights and '<th scope="col">housing</th>' not in insights
    bad = client.post(f"/staff/leads/{reference}/notes", data={"note-body": "", "note-csrf_token": csrf_token(client, f"/staff/leads/{reference}")})
    assert bad.status_code == 400 and "Skriv anteckningen först." in bad.get_data(as_text=True)


def test_each_user_chooses_english_or_swedish_and_it_is_kept(staff_app, leads_db):
    client = login(staff_app, leads_db, "erik@lulea.se", "sv")
    assert "<h1>Ärenden</h1>" in client.get("/staff/leads").get_data(as_text=True)
    token = csrf_token(client, "/staff/leads")
    response = client.post("/staff/language", data={"language": "en", "next": "/staff/leads?view=mine", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/leads?view=mine")
    html = client.get("/staff/leads").get_data(as_text=True)
    assert '<html lang="en">' in html and "<h1>Leads</h1>" in html
    again = staff_app.test_client()  # a new sign-in keeps the choice
    staff_login(again, "erik@lulea.se", "a long enough password")
    assert "<h1>Leads</h1>" in again.get("/staff/leads").get_data(as_text=True)
    colleague = login(staff_app, leads_db, "maria@lulea.se", "sv")  # others keep theirs
    assert "<h1>Ärenden</h1>" in colleague.get("/staff/leads").get_data(as_text=True)
    for hostile in ("de", "<script>", "", "en\x00"):
        client.post("/staff/language", data={"language": hostile, "csrf_token": csrf_token(client, "/staff/leads")})
        assert "<h1>Leads</h1>" in client.get("/staff/leads").get_data(as_text=True)
    outside = client.post("/staff/language", data={"language": "sv", "next": "https://evil.example/", "csrf_token": csrf_token(client, "/staff/leads")})
    assert outside.headers["Location"].endswith("/staff/")
    assert client.post("/staff/language", data={"language": "sv"}).status_code == 400  # no CSRF token


def test_the_sign_in_page_follows_the_browser_and_defaults_to_swedish(staff_app):
    client = staff_app.test_client()
    assert "Logga in" in client.get("/staff/login", headers={"Accept-Language": "sv-SE,sv;q=0.9"}).get_data(as_text=True)
    assert "<h1>Sign in</h1>" in client.get("/staff/login", headers={"Accept-Language": "en-GB,en"}).get_data(as_text=True)
    staff_app.config["STAFF_DEFAULT_LANGUAGE"] = "sv"  # the real default (MOVE_STAFF_DEFAULT_LANGUAGE)
    assert "<h1>Logga in</h1>" in client.get("/staff/login", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)


def test_accounts_are_created_in_swedish_unless_told_english(staff_app, leads_db):
    from tests.test_staff_auth import run_flask

    swedish = run_flask(["staff", "create", "ny@lulea.se", "--password-stdin"], leads_db, "kanelbulle i Luleå 2026\n")
    english = run_flask(["staff", "create", "new@lulea.se", "--language", "en", "--password-stdin"], leads_db, "cinnamon bun in Lulea\n")
    wrong = run_flask(["staff", "create", "de@lulea.se", "--language", "de", "--password-stdin"], leads_db, "zimtschnecke in Lulea\n")
    assert swedish.returncode == 0 and english.returncode == 0 and wrong.returncode != 0, (swedish.stderr, english.stderr)
    for email, password, heading in (("ny@lulea.se", "kanelbulle i Luleå 2026", "<h1>Ärenden</h1>"),
                                     ("new@lulea.se", "cinnamon bun in Lulea", "<h1>Leads</h1>")):
        client = staff_app.test_client()
        assert staff_login(client, email, password).status_code == 302
        assert heading in client.get("/staff/leads").get_data(as_text=True)
