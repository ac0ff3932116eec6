"""organisations as records, auditor appointments, sign-in: passwords, TOTP, API tokens,
browser sessions

Revision ID: 0005a
Revises: 0004
Create Date: 2026-12-01 05:30:00

Each distinct organisation name of the users becomes an organisation (its kind from its users'
roles), and users, tenders (their creator's organisation) and signing certificates point at it.
Existing auditors are appointed to every organisation, as they could read everything before.
Each user's bearer token moves to api_tokens (a second-factor token until revoked, as the
operator made it).
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

    op.create_table('api_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('second_factor', sa.Boolean(), nullable=False),
    sa.Column('created_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('sha256', name=op.f('uq_api_tokens_sha256'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('browser_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('second_factor', sa.Boolean(), nullable=False),
    sa.Column('created_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', tender.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_browser_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_browser_sessions')),
    sa.UniqueConstraint('sha256', name=op.f('uq_browser_sessions_sha256'))
    )
    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_browser_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('sign_in_failures',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', tender.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failures_email'), ['email'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('language', sa.Enum('en', 'zh-Hant-HK', name='language', native_enum=False, create_constraint=False, length=20), nullable=True))
        batch_op.add_column(sa.Column('password_hash', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_confirmed_at', tender.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_confirmed_at', tender.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmation_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confirmation_expires_at', tender.db.UTCDateTime(timezone=True), nullable=True))
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
        batch_op.create_unique_constraint(batch_op.f('uq_users_confirmation_sha256'), ['confirmation_sha256'])
        batch_op.create_foreign_key(batch_op.f('fk_users_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'])
        batch_op.drop_column('organisation')
        batch_op.drop_constraint(batch_op.f('uq_users_token_sha256'), type_='unique')
        batch_op.drop_column('token_sha256')

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
        sa.column('token_sha256', sa.String()),
        sa.column('created_at', tender.db.UTCDateTime()),
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
    tokens = sa.table(
        'api_tokens',
        sa.column('id', sa.Uuid()),
        sa.column('user_id', sa.Uuid()),
        sa.column('name', sa.String()),
        sa.column('sha256', sa.String()),
        sa.column('second_factor', sa.Boolean()),
        sa.column('created_at', tender.db.UTCDateTime()),
    )
    for user_id, sha256, created_at in connection.execute(
        sa.select(users.c.id, users.c.token_sha256, users.c.created_at)
    ):
        connection.execute(
            tokens.insert().values(
                id=uuid.uuid4(),
                user_id=user_id,
                name='made by the operator',
                sha256=sha256,
                second_factor=True,
                created_at=created_at,
            )
        )
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

    # Each user keeps the newest of their tokens that still works (a downgrade loses the rest).
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_sha256', sa.String(length=64), nullable=True))
    users = sa.table('users', sa.column('id', sa.Uuid()), sa.column('token_sha256', sa.String()))
    tokens = sa.table(
        'api_tokens',
        sa.column('user_id', sa.Uuid()),
        sa.column('sha256', sa.String()),
        sa.column('created_at', tender.db.UTCDateTime()),
        sa.column('revoked_at', tender.db.UTCDateTime()),
    )
    op.get_bind().execute(
        users.update().values(
            token_sha256=sa.select(tokens.c.sha256)
            .where(tokens.c.user_id == users.c.id, tokens.c.revoked_at.is_(None))
            .order_by(tokens.c.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_users_token_sha256'), ['token_sha256'])
        batch_op.drop_constraint(batch_op.f('uq_users_confirmation_sha256'), type_='unique')
        batch_op.drop_column('confirmation_expires_at')
        batch_op.drop_column('confirmation_sha256')
        batch_op.drop_column('email_confirmed_at')
        batch_op.drop_column('totp_confirmed_at')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('password_hash')
        batch_op.alter_column('organisation', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_users_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_users_email'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_users_organisation_id'))
        batch_op.drop_column('language')
        batch_op.drop_column('email')
        batch_op.drop_column('organisation_id')

    for table, indexes in (
        ('sign_in_failures', ('ix_sign_in_failures_email', 'ix_sign_in_failures_address')),
        ('browser_sessions', ('ix_browser_sessions_user_id',)),
        ('api_tokens', ('ix_api_tokens_user_id',)),
        ('auditor_appointments', ('ix_auditor_appointments_auditor_id',)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)
    op.drop_table('organisations')
