"""tender documents, their downloads, addenda and clarifications

Revision ID: 0005c
Revises: 0004
Create Date: 2026-12-01 06:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tender.db

revision: str = '0005c'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tender_documents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tender_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('object_key', sa.String(length=300), nullable=False),
    sa.Column('object_version', sa.String(length=200), nullable=False),
    sa.Column('uploaded_by', sa.Uuid(), nullable=False),
    sa.Column('uploaded_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('addendum', sa.Integer(), nullable=True),
    sa.Column('superseded_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_tender_documents_tender_id_tenders')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_tender_documents_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_documents'))
    )
    with op.batch_alter_table('tender_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_documents_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_addenda',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tender_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('previous_deadline', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deadline', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.Uuid(), nullable=False),
    sa.Column('published_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['published_by'], ['users.id'], name=op.f('fk_tender_addenda_published_by_users')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_tender_addenda_tender_id_tenders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_addenda')),
    sa.UniqueConstraint('tender_id', 'number', name=op.f('uq_tender_addenda_tender_id'))
    )
    with op.batch_alter_table('tender_addenda', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_addenda_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_document_downloads',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tender_id', sa.Uuid(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('downloaded_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['tender_documents.id'], name=op.f('fk_tender_document_downloads_document_id_tender_documents')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_tender_document_downloads_tender_id_tenders')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tender_document_downloads_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_document_downloads'))
    )
    with op.batch_alter_table('tender_document_downloads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_document_downloads_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_clarifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tender_id', sa.Uuid(), nullable=False),
    sa.Column('asked_by', sa.Uuid(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('asked_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.Uuid(), nullable=True),
    sa.Column('answered_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['users.id'], name=op.f('fk_tender_clarifications_answered_by_users')),
    sa.ForeignKeyConstraint(['asked_by'], ['users.id'], name=op.f('fk_tender_clarifications_asked_by_users')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_tender_clarifications_tender_id_tenders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_clarifications'))
    )
    with op.batch_alter_table('tender_clarifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_clarifications_tender_id'), ['tender_id'], unique=False)


def downgrade() -> None:
    for table in ('tender_clarifications', 'tender_document_downloads', 'tender_addenda', 'tender_documents'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_tender_id'))
        op.drop_table(table)
