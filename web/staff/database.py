"""One SQLAlchemy session per request for the staff pages, on the app's DATABASE_URL."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from web.leads import db


def dbs() -> Session:
    """The request's session (committed explicitly by the view; rolled back and closed at teardown)."""
    if "staff_db" not in g:
        g.staff_db = sessionmaker(db.get_engine(current_app.config["DATABASE_URL"]), expire_on_commit=False)()
    return g.staff_db


def init_database(app: Flask) -> None:
    @app.teardown_appcontext
    def close_session(_exc) -> None:
        session = g.pop("staff_db", None)
        if session is not None:
            session.rollback()
            session.close()
