"""join the issue-10 branches: organisations (0005a), the tender's states (0005b), tender
documents (0005c) and notifications (0005d) were built side by side off 0004

Revision ID: 0006
Revises: 0005a, 0005b, 0005c, 0005d
Create Date: 2026-12-01 06:40:00
"""

from collections.abc import Sequence

revision: str = '0006'
down_revision: str | Sequence[str] | None = ('0005a', '0005b', '0005c', '0005d')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
