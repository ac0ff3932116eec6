"""Hybrid tender keys: a tender's public key holds ML-KEM-768 + X25519 (1216 bytes), not only
X25519 (32 bytes)

Tenders created from now on seal bids to a hybrid post-quantum key (sealed stream format
version 2); tenders created before keep their X25519 key and format version 1. Neither
SQLite nor PostgreSQL (bytea) enforces the declared length, so no row is rewritten; the
column's declared length follows what it holds. Downgrading does not make the hybrid keys of
tenders created since fit the code of before, which cannot seal to them.

Revision ID: 0009s
Revises: 0008c
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009s'
down_revision: str | None = '0008c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _declare_public_key_length(32, 1216)


def downgrade() -> None:
    _declare_public_key_length(1216, 32)


def _declare_public_key_length(existing: int, new: int) -> None:
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.alter_column(
            'public_key',
            existing_type=sa.LargeBinary(length=existing),
            type_=sa.LargeBinary(length=new),
            existing_nullable=False,
        )
