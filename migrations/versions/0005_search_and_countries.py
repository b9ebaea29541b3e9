"""Data quality: a folded search column on leads (case and accents ignored on every backend), filled
for the leads there are; countries stored as ISO codes, the free text of older leads mapped where it
names a country in one of the five languages (what cannot be recognised stays as it was).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from web.leads.countries import to_code
from web.leads.search import search_text

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

leads = sa.table('leads', sa.column('id', sa.Integer), sa.column('name', sa.String), sa.column('email', sa.String),
                 sa.column('phone', sa.String), sa.column('reference', sa.String), sa.column('country', sa.String),
                 sa.column('search_text', sa.Text))


def upgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    connection = op.get_bind()
    rows = connection.execute(sa.select(leads.c.id, leads.c.name, leads.c.email, leads.c.phone, leads.c.reference, leads.c.country))
    for row in rows.fetchall():
        values = {"search_text": search_text(row.name, row.email, row.phone, row.reference)}
        code = to_code(row.country)
        if code:
            values["country"] = code
        connection.execute(sa.update(leads).where(leads.c.id == row.id).values(**values))


def downgrade() -> None:
    # Country codes stay codes (the names typed before are not kept).
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('search_text')
