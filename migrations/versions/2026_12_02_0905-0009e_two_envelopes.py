"""Two-envelope tenders: a tender's envelopes and financial key, each bid document's
envelope, qualification verdicts and the financial opening

Revision ID: 0009e
Revises: 0008c
Create Date: 2026-12-02 09:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tender.db

revision: str = "0009e"
down_revision: str | None = "0008c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bid_qualifications",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("qualified", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=False),
        sa.Column("decided_at", tender.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_bid_qualifications_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["users.id"], name=op.f("fk_bid_qualifications_supplier_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_bid_qualifications_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("tender_id", "supplier_id", name=op.f("pk_bid_qualifications")),
    )
    op.create_table(
        "financial_openings",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("requested_at", tender.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", tender.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("object_key", sa.String(length=300), nullable=True),
        sa.Column("object_version", sa.String(length=200), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf_object_key", sa.String(length=300), nullable=True),
        sa.Column("pdf_object_version", sa.String(length=200), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_financial_openings_requested_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_financial_openings_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_financial_openings")),
    )
    with op.batch_alter_table("bid_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("envelope", sa.String(length=20), nullable=True))
    with op.batch_alter_table("tenders", schema=None) as batch_op:
        # Tenders made before two envelopes had one.
        batch_op.add_column(
            sa.Column(
                "envelopes",
                sa.Enum(
                    "single",
                    "two",
                    name="envelopes",
                    native_enum=False,
                    create_constraint=False,
                    length=20,
                ),
                server_default="single",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("financial_public_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("wrapped_financial_key", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenders", schema=None) as batch_op:
        batch_op.drop_column("wrapped_financial_key")
        batch_op.drop_column("financial_public_key")
        batch_op.drop_column("envelopes")
    with op.batch_alter_table("bid_documents", schema=None) as batch_op:
        batch_op.drop_column("envelope")
    op.drop_table("financial_openings")
    op.drop_table("bid_qualifications")
