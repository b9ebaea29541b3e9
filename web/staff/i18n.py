"""The staff pages in Swedish (the default) and English, with Flask-Babel.

Each staff member's language is stored on their account (staff_users.language) and changed with
the selector in the page header; before signing in, the browser's preference between the two
decides, else MOVE_STAFF_DEFAULT_LANGUAGE (sv). The texts are written in English in the code and
templates; web/staff/translations/sv/LC_MESSAGES/messages.po holds the Swedish, compiled to a .mo
file under var/ when the app starts (only when the .po is newer), so no binary file is kept in git.

Update the catalogue after changing texts:
    .venv/app/bin/pybabel extract -F web/staff/babel.cfg -k _l -o /tmp/staff.pot web/staff web/templates/staff
    .venv/app/bin/pybabel update -i /tmp/staff.pot -d web/staff/translations
then translate the new entries (tests/test_staff_i18n.py fails while one is missing).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, flash, redirect, request, url_for
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

import settings
from web.leads.models import STAFF_LANGUAGES, StaffUser
from web.staff import bp
from web.staff.database import dbs

SOURCE = Path(__file__).resolve().parent / "translations"
LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}


def compile_catalogues(target: Path) -> Path:
    """Compile every .po under web/staff/translations into `target` (when the .mo is missing or older)."""
    for po in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        partial = mo.with_suffix(f".{id(catalog)}.tmp")
        with partial.open("wb") as out:
            write_mo(out, catalog)
        partial.replace(mo)  # atomic: several workers may start at once
    return target


def select_locale() -> str:
    if request.path.startswith("/staff"):
        if current_user and current_user.is_authenticated:
            language = getattr(current_user, "language", None)
            if language in STAFF_LANGUAGES:
                return language
        preferred = request.accept_languages.best_match(STAFF_LANGUAGES)
        return preferred or current_app.config["STAFF_DEFAULT_LANGUAGE"]
    return "en"


def init_i18n(app: Flask) -> None:
    app.config.setdefault("STAFF_DEFAULT_LANGUAGE", settings.STAFF_DEFAULT_LANGUAGE)
    target = compile_catalogues(settings.VAR_DIR / "translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def staff_language() -> dict:
        return {"staff_language": str(get_locale() or "sv"), "LANGUAGE_NAMES": LANGUAGE_NAMES}


def ui_language() -> str:
    """The language of the page being rendered (sv or en)."""
    locale = get_locale()
    return locale.language if locale and locale.language in STAFF_LANGUAGES else "sv"


@bp.post("/language")
@login_required
def set_language():
    """Keep the signed-in user's interface language (the CSRF token was checked in before_request)."""
    language = request.form.get("language", "")
    if language in STAFF_LANGUAGES:
        user = dbs().get(StaffUser, current_user.id)
        user.language = language
        dbs().commit()
        current_user.language = language
        flash(_("The staff pages are now in English.") if language == "en" else _("The staff pages are now in Swedish."), "success")
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/staff/") and not back.startswith("//") else url_for("staff.home"))
