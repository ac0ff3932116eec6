"""notifications: the outbox of messages, queued in the transaction that caused them

Revision ID: 0005d
Revises: 0004
Create Date: 2026-12-01 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tender.db


revision: str = '0005d'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('recipient_user_id', sa.Uuid(), nullable=True),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tender_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recipient_user_id'], ['users.id'], name=op.f('fk_outbox_messages_recipient_user_id_users')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_outbox_messages_tender_id_tenders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_recipient_user_id'), ['recipient_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_tender_id'), ['tender_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_tender_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_sent_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_recipient_user_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_kind'))

    op.drop_table('outbox_messages')
