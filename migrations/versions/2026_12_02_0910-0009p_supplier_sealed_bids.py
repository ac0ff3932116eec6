"""Supplier-sealed tenders: bids sealed on the supplier's machine, and the SHA-256 of the
sealed bytes received for each such bid

Revision ID: 0009p
Revises: 0008c
Create Date: 2026-12-02 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009p'
down_revision: str | None = '0008c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        # Tenders made before it are sealed by the platform on arrival.
        batch_op.add_column(sa.Column('supplier_sealed', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('bid_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bid_documents', schema=None) as batch_op:
        batch_op.drop_column('sealed_sha256')
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.drop_column('supplier_sealed')
