"""organisations as records, auditor appointments, users' email and language

Revision ID: 0005a
Revises: 0004
Create Date: 2026-12-01 05:30:00

Each distinct organisation name of the users becomes an organisation (its kind from its users'
roles), and users, tenders (their creator's organisation) and signing certificates point at it.
Existing auditors are appointed to every organisation, as they could read everything before.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import tender.db


revision: str = '0005a'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An organisation with an officer buys; with a supplier (and no officer) sells; the rest run
# or audit the platform.
_KIND_BY_ROLE = (('officer', 'buyer'), ('supplier', 'supplier'))


def upgrade() -> None:
    op.create_table('organisations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('buyer', 'supplier', 'platform', name='organisationkind', native_enum=False, create_constraint=False, length=20), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=True),
    sa.Column('br_number', sa.String(length=40), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('status', sa.Enum('pending', 'active', 'suspended', name='organisationstatus', native_enum=False, create_constraint=False, length=20), nullable=False),
    sa.Column('created_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('br_number', name=op.f('uq_organisations_br_number')),
    sa.UniqueConstraint('name_en', name=op.f('uq_organisations_name_en'))
    )
    op.create_table('auditor_appointments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('auditor_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('appointed_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['auditor_id'], ['users.id'], name=op.f('fk_auditor_appointments_auditor_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_auditor_appointments_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auditor_appointments'))
    )
    with op.batch_alter_table('auditor_appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auditor_appointments_auditor_id'), ['auditor_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('language', sa.Enum('en', 'zh-Hant-HK', name='language', native_enum=False, create_constraint=False, length=20), nullable=True))
    with op.batch_alter_table('signing_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Uuid(), nullable=True))
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Uuid(), nullable=True))

    _carry_organisations_over()

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('organisation_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column('language', existing_type=sa.String(length=20), nullable=False)
        batch_op.create_index(batch_op.f('ix_users_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_email'), ['email'])
        batch_op.create_foreign_key(batch_op.f('fk_users_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'])
        batch_op.drop_column('organisation')

    with op.batch_alter_table('signing_certificates', schema=None) as batch_op:
        batch_op.alter_column('organisation_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_signing_certificates_organisation'))
        batch_op.create_index(batch_op.f('ix_signing_certificates_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_signing_certificates_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'])
        batch_op.drop_column('organisation')

    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.alter_column('organisation_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_index(batch_op.f('ix_tenders_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tenders_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'])


def _carry_organisations_over() -> None:
    connection = op.get_bind()
    now = datetime.now(UTC)
    organisations = sa.table(
        'organisations',
        sa.column('id', sa.Uuid()),
        sa.column('kind', sa.String()),
        sa.column('name_en', sa.String()),
        sa.column('status', sa.String()),
        sa.column('created_at', tender.db.UTCDateTime()),
    )
    users = sa.table(
        'users',
        sa.column('id', sa.Uuid()),
        sa.column('organisation', sa.String()),
        sa.column('organisation_id', sa.Uuid()),
        sa.column('language', sa.String()),
        sa.column('role', sa.String()),
    )
    certificates = sa.table(
        'signing_certificates',
        sa.column('organisation', sa.String()),
        sa.column('organisation_id', sa.Uuid()),
    )
    tenders = sa.table(
        'tenders', sa.column('created_by', sa.Uuid()), sa.column('organisation_id', sa.Uuid())
    )
    appointments = sa.table(
        'auditor_appointments',
        sa.column('id', sa.Uuid()),
        sa.column('auditor_id', sa.Uuid()),
        sa.column('organisation_id', sa.Uuid()),
        sa.column('appointed_at', tender.db.UTCDateTime()),
    )
    roles: dict[str, set[str]] = {}
    for name, role in connection.execute(sa.select(users.c.organisation, users.c.role)):
        roles.setdefault(name, set()).add(role)
    for (name,) in connection.execute(sa.select(certificates.c.organisation).distinct()):
        roles.setdefault(name, {'supplier'})
    for name, its_roles in roles.items():
        kind = next((k for role, k in _KIND_BY_ROLE if role in its_roles), 'platform')
        org_id = uuid.uuid4()
        connection.execute(
            organisations.insert().values(
                id=org_id, kind=kind, name_en=name, status='active', created_at=now
            )
        )
        connection.execute(
            users.update().where(users.c.organisation == name).values(organisation_id=org_id)
        )
        connection.execute(
            certificates.update()
            .where(certificates.c.organisation == name)
            .values(organisation_id=org_id)
        )
    connection.execute(users.update().values(language='en'))
    creator_org = (
        sa.select(users.c.organisation_id)
        .where(users.c.id == tenders.c.created_by)
        .scalar_subquery()
    )
    connection.execute(tenders.update().values(organisation_id=creator_org))
    for (auditor_id,) in connection.execute(sa.select(users.c.id).where(users.c.role == 'auditor')):
        connection.execute(
            appointments.insert().values(
                id=uuid.uuid4(), auditor_id=auditor_id, organisation_id=None, appointed_at=now
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('tenders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tenders_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tenders_organisation_id'))
        batch_op.drop_column('organisation_id')

    for table in ('signing_certificates', 'users'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('organisation', sa.String(length=200), nullable=True))
        named = sa.table(table, sa.column('organisation', sa.String()), sa.column('organisation_id', sa.Uuid()))
        organisations = sa.table('organisations', sa.column('id', sa.Uuid()), sa.column('name_en', sa.String()))
        op.get_bind().execute(
            named.update().values(
                organisation=sa.select(organisations.c.name_en)
                .where(organisations.c.id == named.c.organisation_id)
                .scalar_subquery()
            )
        )
    with op.batch_alter_table('signing_certificates', schema=None) as batch_op:
        batch_op.alter_column('organisation', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_signing_certificates_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_signing_certificates_organisation_id'))
        batch_op.create_index(batch_op.f('ix_signing_certificates_organisation'), ['organisation'], unique=False)
        batch_op.drop_column('organisation_id')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('organisation', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_users_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_users_email'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_users_organisation_id'))
        batch_op.drop_column('language')
        batch_op.drop_column('email')
        batch_op.drop_column('organisation_id')

    with op.batch_alter_table('auditor_appointments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auditor_appointments_auditor_id'))

    op.drop_table('auditor_appointments')
    op.drop_table('organisations')
