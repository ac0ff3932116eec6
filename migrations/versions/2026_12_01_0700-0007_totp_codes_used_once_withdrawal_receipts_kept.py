"""TOTP codes used once (the last accepted time-step per user); withdrawal receipts kept

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tender.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    op.create_table('bid_withdrawals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tender_id', sa.Uuid(), nullable=False),
    sa.Column('supplier_id', sa.Uuid(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('withdrawn', sa.JSON(), nullable=False),
    sa.Column('withdrawn_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.Column('commitment_salt', sa.String(length=64), nullable=False),
    sa.Column('signed_receipt', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['supplier_id'], ['users.id'], name=op.f('fk_bid_withdrawals_supplier_id_users')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_bid_withdrawals_tender_id_tenders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_withdrawals'))
    )
    with op.batch_alter_table('bid_withdrawals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_withdrawals_supplier_id'), ['supplier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bid_withdrawals_tender_id'), ['tender_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bid_withdrawals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_withdrawals_tender_id'))
        batch_op.drop_index(batch_op.f('ix_bid_withdrawals_supplier_id'))
    op.drop_table('bid_withdrawals')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
