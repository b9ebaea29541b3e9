"""The migrations build exactly the schema web/leads/models.py describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from web.leads import db
from web.leads.models import Base


def test_migrated_database_matches_the_models(leads_db):
    with db.get_engine(leads_db).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
