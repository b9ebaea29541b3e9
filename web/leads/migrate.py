"""Bring the app database to the newest schema (Alembic `upgrade head`).

    python -m web.leads.migrate [URL]

scripts/stack.py prepare() and the test fixtures call upgrade() before any service starts, so
the action server and the web app always find the tables they need.
"""

from __future__ import annotations

import logging
import sys

import settings
from web.leads import db

ALEMBIC_INI = settings.ROOT / "alembic.ini"


def alembic_config(url: str | None = None):
    # Imported here: alembic logs each plugin it loads at INFO, noise in every process that imports this.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(settings.ROOT / "migrations"))
    config.attributes["database_url"] = db.database_url(url)
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str | None = None) -> None:
    """Apply every migration the database does not have yet (a no-op when it is up to date)."""
    config = alembic_config(url)
    from alembic import command

    command.upgrade(config, "head")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else None
    upgrade(url)
    print(f"==> app database: schema up to date ({db.database_url(url).split('@')[-1]})")


if __name__ == "__main__":
    main()
