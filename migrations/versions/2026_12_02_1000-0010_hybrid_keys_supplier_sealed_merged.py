"""join the issue-11 branches built side by side off 0008c: hybrid tender keys (0009s) and
supplier-sealed bids (0009p)

Revision ID: 0010
Revises: 0009p, 0009s
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

revision: str = '0010'
down_revision: str | Sequence[str] | None = ('0009p', '0009s')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
