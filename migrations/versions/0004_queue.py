"""Working the queue: a lead may hold several consent records (a merge of two duplicates keeps both),
and remembers the chat sessions of the leads merged into it (so erasing it erases their conversations too).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 12:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _consents(unique: bool) -> sa.Table:
    """The consents table as 0001 made it, with or without the one-consent-per-lead constraint (SQLite
    cannot drop a constraint, so batch mode copies the table into this definition)."""
    args = [sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('lead_id', sa.Integer(), nullable=False),
            sa.Column('text', sa.Text(), nullable=False),
            sa.Column('version', sa.String(length=16), nullable=False),
            sa.Column('lang', sa.String(length=8), nullable=False),
            sa.Column('given_at', sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
            sa.PrimaryKeyConstraint('id')]
    if unique:
        args.append(sa.UniqueConstraint('lead_id'))
    return sa.Table('consents', sa.MetaData(), *args)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('consents', copy_from=_consents(unique=False), recreate='always') as batch_op:
            batch_op.create_index('ix_consents_lead_id', ['lead_id'], unique=False)
    else:
        op.drop_constraint('consents_lead_id_key', 'consents', type_='unique')
        op.create_index('ix_consents_lead_id', 'consents', ['lead_id'], unique=False)
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_sessions', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('merged_sessions')
    op.drop_index('ix_consents_lead_id', table_name='consents')
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('consents', copy_from=_consents(unique=True), recreate='always'):
            pass
    else:
        op.create_unique_constraint('consents_lead_id_key', 'consents', ['lead_id'])
