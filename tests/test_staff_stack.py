"""The staff workspace in the real web process (gunicorn, started by the shared `stack` fixture):
a stored lead is visible to a signed-in staff member, and the web process's background thread
mails the team through a real SMTP server."""

from __future__ import annotations

import re
import time

import pytest
import requests
from aiosmtpd.controller import Controller

from tests.conftest import create_staff, lead_consent, lead_input
from tests.mail import Inbox
from web.leads.service import create_lead

pytestmark = pytest.mark.stack


def test_staff_see_a_new_lead_and_the_team_gets_an_email(stack):
    url = stack.extra_env["MOVE_DATABASE_URL"]
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=int(stack.extra_env["MOVE_SMTP_PORT"]))
    smtp.start()
    try:
        create_staff(url, "stack.staff@lulea.se", "stack staff password")
        reference = create_lead(lead_input(name="Ona Petraitienė", country="Lithuania"), lead_consent(), database_url=url)
        base = stack.urls["web"]
        http = requests.Session()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', http.get(base + "/staff/login", timeout=10).text).group(1)
        page = http.post(base + "/staff/login", data={"email": "stack.staff@lulea.se", "password": "stack staff password",
                                                      "csrf_token": token}, timeout=10)
        assert page.status_code == 200 and page.url.endswith("/staff/leads") and reference in page.text
        detail = http.get(f"{base}/staff/leads/{reference}", timeout=10)
        assert "Ona Petraitienė" in detail.text and "Lithuania" in detail.text
        deadline = time.monotonic() + 60
        while not any(reference in m["Subject"] for m in inbox.messages) and time.monotonic() < deadline:
            time.sleep(0.2)
        mail = next(m for m in inbox.messages if reference in m["Subject"])
        assert f"/staff/leads/{reference}" in mail.get_content() and "Petraitienė" not in mail.get_content()
    finally:
        smtp.stop()
