"""the tender's states: cancellation, award, withdrawn bids, references compared case-insensitively

Revision ID: 0005b
Revises: 0004
Create Date: 2026-12-01 06:20:00
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tender.db

revision: str = '0005b'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tender_awards',
    sa.Column('tender_id', sa.Uuid(), nullable=False),
    sa.Column('winners', sa.JSON(), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('awarded_by', sa.Uuid(), nullable=False),
    sa.Column('awarded_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['awarded_by'], ['users.id'], name=op.f('fk_tender_awards_awarded_by_users')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_tender_awards_tender_id_tenders')),
    sa.PrimaryKeyConstraint('tender_id', name=op.f('pk_tender_awards'))
    )
    for table in ('bid_documents', 'bid_fingerprints'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('withdrawn_at', tender.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference_key', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('awarded_at', tender.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', tender.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancellation_reason', sa.Text(), nullable=True))
    # References are compared as tender.text.reference_key does (NFC, case-folded). Two
    # existing references equal that way stop the upgrade at the unique constraint below:
    # rename one first.
    tenders = sa.table('tenders', sa.column('id', sa.Uuid()), sa.column('reference', sa.String()),
                       sa.column('reference_key', sa.String()))
    connection = op.get_bind()
    for tender_id, reference in connection.execute(sa.select(tenders.c.id, tenders.c.reference)).all():
        connection.execute(
            tenders.update().where(tenders.c.id == tender_id)
            .values(reference_key=unicodedata.normalize('NFC', reference).casefold())
        )
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.alter_column('reference_key', existing_type=sa.String(length=320), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_tenders_reference'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_tenders_reference_key'), ['reference_key'])


def downgrade() -> None:
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_tenders_reference_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_tenders_reference'), ['reference'])
        batch_op.drop_column('cancellation_reason')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('awarded_at')
        batch_op.drop_column('reference_key')

    for table in ('bid_fingerprints', 'bid_documents'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('withdrawn_at')

    op.drop_table('tender_awards')
