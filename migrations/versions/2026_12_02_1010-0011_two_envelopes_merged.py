"""join two-envelope tenders (0009e), built beside 0009s and 0009p off 0008c

Revision ID: 0011
Revises: 0010, 0009e
Create Date: 2026-12-02 10:10:00
"""

from collections.abc import Sequence

revision: str = '0011'
down_revision: str | Sequence[str] | None = ('0010', '0009e')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
