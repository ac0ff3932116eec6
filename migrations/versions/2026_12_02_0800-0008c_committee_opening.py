"""Committee opening: members' committee keys, their shares of tenders' keys; a tender's
opening method and quorum, and no wrapped key for a committee tender

Revision ID: 0008c
Revises: 0007
Create Date: 2026-12-02 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tender.db

revision: str = '0008c'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('committee_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('registered_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.Column('replaced_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_committee_keys_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_keys'))
    )
    with op.batch_alter_table('committee_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committee_keys_user_id'), ['user_id'], unique=False)
    op.create_table('committee_shares',
    sa.Column('tender_id', sa.Uuid(), nullable=False),
    sa.Column('key_name', sa.String(length=20), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('share_index', sa.Integer(), nullable=False),
    sa.Column('member_key_id', sa.Uuid(), nullable=False),
    sa.Column('encrypted_share', sa.LargeBinary(), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.Column('released_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_share', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_committee_shares_member_id_users')),
    sa.ForeignKeyConstraint(['member_key_id'], ['committee_keys.id'], name=op.f('fk_committee_shares_member_key_id_committee_keys')),
    sa.ForeignKeyConstraint(['tender_id'], ['tenders.id'], name=op.f('fk_committee_shares_tender_id_tenders')),
    sa.PrimaryKeyConstraint('tender_id', 'key_name', 'member_id', name=op.f('pk_committee_shares'))
    )
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        # Tenders made before committees were opened automatically.
        batch_op.add_column(sa.Column('opening', sa.Enum('committee', 'automatic', name='openingmethod', native_enum=False, create_constraint=False, length=20), server_default='automatic', nullable=False))
        batch_op.add_column(sa.Column('quorum', sa.Integer(), nullable=True))
        batch_op.alter_column('wrapped_private_key', existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.alter_column('wrapped_private_key', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('quorum')
        batch_op.drop_column('opening')
    op.drop_table('committee_shares')
    with op.batch_alter_table('committee_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_committee_keys_user_id'))
    op.drop_table('committee_keys')
