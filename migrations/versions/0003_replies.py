"""Replies to movers through the outbox: each outbox row has a kind ("new_lead": the team's
notification, "reply": staff's email to the mover, "assigned": a note to the staff member a lead was
assigned to), its recipient, subject, body, language and author.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 11:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='new_lead', nullable=False))
        batch_op.add_column(sa.Column('to_address', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('subject', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('lang', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('author_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_outbox_author', 'staff_users', ['author_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_outbox_lead_kind', ['lead_id', 'kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_lead_kind')
        batch_op.drop_constraint('fk_outbox_author', type_='foreignkey')
        for column in ('author_id', 'lang', 'body', 'subject', 'to_address', 'kind'):
            batch_op.drop_column(column)
